from rest_framework.routers import SimpleRouter

from .views import AccessKeyViewSet, DataCenterViewSet, EcsInstanceViewSet, IdentityZoneViewSet

router = SimpleRouter()
router.register("alibaba-access-keys", AccessKeyViewSet, basename="alibaba-access-keys")
router.register("alibaba-data-centers", DataCenterViewSet, basename="alibaba-data-centers")
router.register("alibaba-identity-zones", IdentityZoneViewSet, basename="alibaba-identity-zones")
router.register("ecs-instances", EcsInstanceViewSet, basename="ecs-instances")
urlpatterns = router.urls

from .network_views import (EipViewSet, RouteEntryViewSet, SecurityGroupViewSet, VpcViewSet,  # noqa: E402
                            VRouterViewSet, VSwitchViewSet)

router.register("alibaba-vpcs", VpcViewSet, basename="alibaba-vpcs")
router.register("alibaba-v-switches", VSwitchViewSet, basename="alibaba-v-switches")
router.register("alibaba-v-routers", VRouterViewSet, basename="alibaba-v-routers")
router.register("alibaba-route-entries", RouteEntryViewSet, basename="alibaba-route-entries")
router.register("alibaba-security-groups", SecurityGroupViewSet, basename="alibaba-security-groups")
router.register("alibaba-eips", EipViewSet, basename="alibaba-eips")
urlpatterns = router.urls

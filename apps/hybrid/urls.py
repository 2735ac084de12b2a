from rest_framework.routers import SimpleRouter

from .views import AccessKeyViewSet, DataCenterViewSet, EcsInstanceViewSet, IdentityZoneViewSet

router = SimpleRouter()
router.register("alibaba-access-keys", AccessKeyViewSet, basename="alibaba-access-keys")
router.register("alibaba-data-centers", DataCenterViewSet, basename="alibaba-data-centers")
router.register("alibaba-identity-zones", IdentityZoneViewSet, basename="alibaba-identity-zones")
router.register("ecs-instances", EcsInstanceViewSet, basename="ecs-instances")
urlpatterns = router.urls

from .oneview_views import EcsImageMappingViewSet, EcsNetworkMappingViewSet, EcsOfferingMappingViewSet  # noqa: E402

router.register("ecs-image-mappings", EcsImageMappingViewSet, basename="ecs-image-mappings")
router.register("ecs-offering-mappings", EcsOfferingMappingViewSet, basename="ecs-offering-mappings")
router.register("ecs-network-mappings", EcsNetworkMappingViewSet, basename="ecs-network-mappings")
urlpatterns = router.urls

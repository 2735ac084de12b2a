from rest_framework.routers import SimpleRouter

from .views import AccessKeyViewSet, DataCenterViewSet, EcsInstanceViewSet, IdentityZoneViewSet

router = SimpleRouter()
router.register("alibaba-access-keys", AccessKeyViewSet, basename="alibaba-access-keys")
router.register("alibaba-data-centers", DataCenterViewSet, basename="alibaba-data-centers")
router.register("alibaba-identity-zones", IdentityZoneViewSet, basename="alibaba-identity-zones")
router.register("ecs-instances", EcsInstanceViewSet, basename="ecs-instances")
urlpatterns = router.urls

from .storage_views import EcsDiskViewSet, EcsImageViewSet, OssBucketViewSet  # noqa: E402

router.register("oss-buckets", OssBucketViewSet, basename="oss-buckets")
router.register("ecs-images", EcsImageViewSet, basename="ecs-images")
router.register("ecs-disks", EcsDiskViewSet, basename="ecs-disks")
urlpatterns = router.urls

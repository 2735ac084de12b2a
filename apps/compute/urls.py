from rest_framework.routers import SimpleRouter

from .views import ClusterViewSet, HostViewSet, InstanceOfferingViewSet, VmInstanceViewSet, ZoneViewSet

router = SimpleRouter()
router.register("zones", ZoneViewSet, basename="zones")
router.register("clusters", ClusterViewSet, basename="clusters")
router.register("hosts", HostViewSet, basename="hosts")
router.register("instance-offerings", InstanceOfferingViewSet, basename="instance-offerings")
router.register("vm-instances", VmInstanceViewSet, basename="vm-instances")
urlpatterns = router.urls

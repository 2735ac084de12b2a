from rest_framework.routers import SimpleRouter

from .views import ClusterViewSet, HostViewSet, ZoneViewSet

router = SimpleRouter()
router.register("zones", ZoneViewSet, basename="zones")
router.register("clusters", ClusterViewSet, basename="clusters")
router.register("hosts", HostViewSet, basename="hosts")
urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

from .views import ClusterViewSet, ZoneViewSet

router = SimpleRouter()
router.register("zones", ZoneViewSet, basename="zones")
router.register("clusters", ClusterViewSet, basename="clusters")
urlpatterns = router.urls

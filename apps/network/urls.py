from rest_framework.routers import SimpleRouter

from .views import IpRangeViewSet, L2NetworkViewSet, L3NetworkViewSet

router = SimpleRouter()
router.register("l2-networks", L2NetworkViewSet, basename="l2-networks")
router.register("l3-networks", L3NetworkViewSet, basename="l3-networks")
router.register("ip-ranges", IpRangeViewSet, basename="ip-ranges")
urlpatterns = router.urls

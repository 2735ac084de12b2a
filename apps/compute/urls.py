from rest_framework.routers import SimpleRouter

from .views import InstanceOfferingViewSet, VmInstanceViewSet

router = SimpleRouter()
router.register("instance-offerings", InstanceOfferingViewSet, basename="instance-offerings")
router.register("vm-instances", VmInstanceViewSet, basename="vm-instances")
urlpatterns = router.urls

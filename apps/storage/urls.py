from rest_framework.routers import SimpleRouter

from .views import BackupStorageViewSet, ImageViewSet, PrimaryStorageViewSet, VolumeViewSet

router = SimpleRouter()
router.register("backup-storage", BackupStorageViewSet, basename="backup-storage")
router.register("images", ImageViewSet, basename="images")
router.register("primary-storage", PrimaryStorageViewSet, basename="primary-storage")
router.register("volumes", VolumeViewSet, basename="volumes")
urlpatterns = router.urls

from .snapshot_views import VolumeSnapshotGroupViewSet, VolumeSnapshotViewSet  # noqa: E402

router.register("volume-snapshots", VolumeSnapshotViewSet, basename="volume-snapshots")
router.register("volume-snapshot-groups", VolumeSnapshotGroupViewSet, basename="volume-snapshot-groups")
from .views import DiskOfferingViewSet  # noqa: E402

router.register("disk-offerings", DiskOfferingViewSet, basename="disk-offerings")
urlpatterns = router.urls

from .backup_storage import BackupStorage, BackupStorageStatus, BackupStorageType
from .image import (IMAGE_STATUS_MACHINE, Image, ImageBackupStorageRef, ImageFormat, ImageMediaType, ImagePlatform,
                    ImageStatus)
from .primary_storage import ImageCache, LocalStorageHostRef, PrimaryStorage, PrimaryStorageType
from .volume import Volume, VolumeStatus, VolumeType

__all__ = ["BackupStorage", "BackupStorageStatus", "BackupStorageType", "IMAGE_STATUS_MACHINE", "Image",
           "ImageBackupStorageRef", "ImageCache", "ImageFormat", "ImageMediaType", "ImagePlatform", "ImageStatus",
           "LocalStorageHostRef", "PrimaryStorage", "PrimaryStorageType", "Volume", "VolumeStatus", "VolumeType"]
from .volume_snapshot import VolumeSnapshot, VolumeSnapshotGroup, VolumeSnapshotStatus  # noqa: E402

__all__ += ["VolumeSnapshot", "VolumeSnapshotGroup", "VolumeSnapshotStatus"]
from .disk_offering import DiskOffering  # noqa: E402

__all__ += ["DiskOffering"]

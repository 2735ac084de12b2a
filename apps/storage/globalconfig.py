"""Global configs of storage."""
from apps.core.globalconfig import GlobalConfigDef, at_least

DOWNLOAD_URL_TTL = GlobalConfigDef(
    "image", "download.urlTtl", int, 3600,
    "seconds a signed image-store URL handed to a host stays valid", validator=at_least(10))
DOWNLOAD_TIMEOUT = GlobalConfigDef(
    "image", "download.timeout", int, 3600,
    "seconds a host may take to fetch an image into its primary storage cache", validator=at_least(10))
# ZStack's overProvisioning.primaryStorage: virtual bytes offered per byte of a shared primary
# storage (volumes are thin qcow2 overlays); a primary storage or its zone may override it
OVER_PROVISIONING = GlobalConfigDef(
    "primaryStorage", "overProvisioning.primaryStorage", float, 1.0,
    "virtual bytes of volumes offered per byte of a shared (SharedMountPoint, NFS) primary storage",
    validator=at_least(0.1), overridable_by=["PrimaryStorage", "Zone"])
NFS_MOUNT_ROOT = GlobalConfigDef(
    "primaryStorage", "nfs.mountRoot", str, "/var/lib/cloudportal/nfs",
    "directory on each host under which the agent mounts an NFS primary storage (a directory named for "
    "its uuid); read when the storage is added")

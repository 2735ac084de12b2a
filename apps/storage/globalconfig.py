"""Global configs of storage."""
from apps.core.globalconfig import GlobalConfigDef, at_least
from apps.core.globalconfig import one_of  # noqa: E402  (volume.* configs)

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
NFS_MOUNT_OPTIONS = GlobalConfigDef(
    "primaryStorage", "nfs.mountOptions", str, "",
    "mount options (mount -o) the agents use for NFS primary storage, e.g. vers=4.1 or port=20490; "
    "a primary storage may override it", overridable_by=["PrimaryStorage", "Zone"])
VOLUME_DELETION_POLICY = GlobalConfigDef(
    "volume", "deletionPolicy", str, "Delay",
    "what DELETE of a data volume does: Direct (detached and expunged at once), Delay (detached into the "
    "recycle bin, expunged after volume.expungePeriod) or Never (recycle bin until expunged by hand)",
    validator=one_of("Direct", "Delay", "Never"))
VOLUME_DETACH_TIMEOUT = GlobalConfigDef(
    "volume", "detach.timeout", int, 10,
    "seconds a running VM's guest may take to release a hot-detached disk before the detach fails "
    "with DETACH_TIMEOUT (a virtio-blk unplug needs the guest's cooperation)", validator=at_least(0))
VOLUME_EXPUNGE_PERIOD = GlobalConfigDef(
    "volume", "expungePeriod", int, 86400, "seconds a deleted data volume stays in the recycle bin (policy Delay)",
    validator=at_least(1))

"""Error codes of storage (jobs and API answer them as {"code", "message", "details"})."""
from apps.core.errors import CloudPortalError, Unplaceable


class ImageDownloadFailed(CloudPortalError):
    status = 422
    code = "IMAGE_DOWNLOAD_FAILED"


class UnsupportedUrl(CloudPortalError):
    status = 400
    code = "UNSUPPORTED_URL_SCHEME"


class NotAnImage(CloudPortalError):
    status = 422
    code = "NOT_AN_IMAGE"


class ImageFormatMismatch(CloudPortalError):
    status = 422
    code = "IMAGE_FORMAT_MISMATCH"


class BackupStorageFull(Unplaceable):
    code = "BACKUP_STORAGE_NO_CAPACITY"


class NoPrimaryStorageCapacity(Unplaceable):
    code = "NO_PRIMARY_STORAGE_CAPACITY"


class VolumeAttached(CloudPortalError):
    status = 409
    code = "VOLUME_ATTACHED"


class VolumeNotAttached(CloudPortalError):
    status = 409
    code = "VOLUME_NOT_ATTACHED"


class VolumeOnOtherHost(CloudPortalError):
    """A volume on one host's local storage cannot reach a VM on another host."""
    status = 409
    code = "VOLUME_ON_OTHER_HOST"

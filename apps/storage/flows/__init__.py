from .images import ADD_IMAGE, EXPUNGE_IMAGE
from .primary_storage import ATTACH_PRIMARY_STORAGE, DETACH_PRIMARY_STORAGE

__all__ = ["ADD_IMAGE", "ATTACH_PRIMARY_STORAGE", "DETACH_PRIMARY_STORAGE", "EXPUNGE_IMAGE"]
from .volume_image import CREATE_IMAGE_FROM_VOLUME  # noqa: E402,F401  (images from volumes and snapshots)

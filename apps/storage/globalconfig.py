"""Global configs of storage."""
from apps.core.globalconfig import GlobalConfigDef, at_least

DOWNLOAD_URL_TTL = GlobalConfigDef(
    "image", "download.urlTtl", int, 3600,
    "seconds a signed image-store URL handed to a host stays valid", validator=at_least(10))
DOWNLOAD_TIMEOUT = GlobalConfigDef(
    "image", "download.timeout", int, 3600,
    "seconds a host may take to fetch an image into its primary storage cache", validator=at_least(10))

"""Small readings of the storage part's cloud answers."""
from .cloud import AlibabaError


def cloud_code(error):
    """The cloud's code of a portal error (``""`` for one that is not the cloud's)."""
    return (error.details or {}).get("cloud_code", "") if isinstance(error, AlibabaError) else ""


def region_of_location(location):
    """``cn-hangzhou`` for OSS's ``oss-cn-hangzhou``."""
    return location[4:] if (location or "").startswith("oss-") else (location or "")

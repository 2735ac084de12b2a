"""Global configs of the hybrid cloud's storage (category ``hybrid``): which images a sync mirrors,
how a local image goes to OSS, how long an import may take."""
from apps.core.globalconfig import GlobalConfigDef, at_least, between

OWNER_ALIASES = ("system", "self", "others", "marketplace")


def owner_aliases(value):
    """A comma list of DescribeImages' ImageOwnerAlias values."""
    names = [name.strip() for name in str(value).split(",") if name.strip()]
    unknown = [name for name in names if name not in OWNER_ALIASES]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not an image owner (one of {', '.join(OWNER_ALIASES)})")


IMAGE_SYNC_OWNERS = GlobalConfigDef(
    "hybrid", "images.syncOwners", str, "system,self",
    "whose images a data centre's sync mirrors (ImageOwnerAlias, a comma list of system, self, others, "
    "marketplace); marketplace images are thousands per region", validator=owner_aliases)
OSS_PART_SIZE = GlobalConfigDef(
    "hybrid", "oss.partSize", int, 10 << 20,
    "bytes per part of a local image's multipart upload to OSS (at least 100 KiB; a larger image gets "
    "larger parts so that it fits in 10,000)", validator=at_least(100 << 10))
IMAGE_IMPORT_TIMEOUT = GlobalConfigDef(
    "hybrid", "images.importTimeout", int, 7200,
    "seconds the upload of a local image waits for the cloud's ImportImage to make the image Available",
    validator=between(10, 86400))

"""Bucket operations: PutBucket, GetBucketInfo, GetBucketLocation, GetBucketStat, GetBucketAcl,
PutBucketAcl, DeleteBucket, and the service's: the account's list of buckets (ListBuckets, the
GetService call) and the regions with their endpoints (DescribeRegions).

Bucket names are global, as on the real service: another account's name is taken."""
import re
from xml.etree import ElementTree

from . import listing, xmldoc
from .call import OWNER, Call
from .errors import OssError, access_denied, invalid_argument
from ..regions import REGIONS
from .store import new_bucket_record

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
ACLS = ("private", "public-read", "public-read-write")
REDUNDANCY_TYPES = ("LRS", "ZRS")
MAX_BUCKETS_PER_ACCOUNT = 100


def location(region: str) -> str:
    return f"oss-{region}"


def _add_endpoints(node: ElementTree.Element, region: str) -> None:
    xmldoc.add(node, "ExtranetEndpoint", f"oss-{region}.aliyuncs.com")
    xmldoc.add(node, "IntranetEndpoint", f"oss-{region}-internal.aliyuncs.com")


def _add_owner(parent: ElementTree.Element, account: str) -> None:
    owner = xmldoc.add(parent, "Owner")
    xmldoc.add(owner, "ID", account)
    xmldoc.add(owner, "DisplayName", account)


def _acl_header(call: Call, default: str | None) -> str | None:
    acl = call.headers.get("x-oss-acl", default)
    if acl is not None and acl not in ACLS:
        raise invalid_argument("no such bucket access control exists", "x-oss-acl", acl)
    return acl


def _require_account(call: Call) -> str:
    if call.account is None:
        raise access_denied("AccessDenied: anonymous access is not allowed for this operation.")
    return call.account


async def list_buckets(call: Call):
    account = _require_account(call)
    prefix, marker = call.query.get("prefix", ""), call.query.get("marker", "")
    max_keys = call.int_param("max-keys", 100, 1000)
    owned = {bucket.name: bucket for bucket in call.store.buckets_of(account)}
    page = listing.page(sorted(owned), prefix=prefix, marker=marker, max_keys=max_keys)

    root = ElementTree.Element("ListAllMyBucketsResult")
    if any(name in call.query for name in ("prefix", "marker", "max-keys")):
        xmldoc.add(root, "Prefix", prefix)
        xmldoc.add(root, "Marker", marker)
        xmldoc.add(root, "MaxKeys", max_keys)
        xmldoc.add(root, "IsTruncated", xmldoc.boolean(page.truncated))
        if page.truncated:
            xmldoc.add(root, "NextMarker", page.next_marker)
    _add_owner(root, account)
    buckets = xmldoc.add(root, "Buckets")
    for name in page.keys:
        bucket = owned[name]
        node = xmldoc.add(buckets, "Bucket")
        xmldoc.add(node, "CreationDate", xmldoc.iso8601(bucket.created))
        _add_endpoints(node, bucket.region)
        xmldoc.add(node, "Location", location(bucket.region))
        xmldoc.add(node, "Name", bucket.name)
        xmldoc.add(node, "Region", bucket.region)
        xmldoc.add(node, "StorageClass", bucket.storage_class)
    return call.respond_xml(root)


async def describe_regions(call: Call):
    _require_account(call)
    wanted = call.query.get("regions", "")
    root = ElementTree.Element("RegionInfoList")
    for region in REGIONS:
        if wanted and wanted not in (region, location(region)):
            continue
        node = xmldoc.add(root, "RegionInfo")
        xmldoc.add(node, "Region", location(region))
        xmldoc.add(node, "InternetEndpoint", f"oss-{region}.aliyuncs.com")
        xmldoc.add(node, "InternalEndpoint", f"oss-{region}-internal.aliyuncs.com")
        xmldoc.add(node, "AccelerateEndpoint", "oss-accelerate.aliyuncs.com")
    return call.respond_xml(root)


def _creation_config(body: bytes) -> tuple[str, str]:
    storage_class, redundancy = "Standard", "LRS"
    if body.strip():
        root = xmldoc.parse(body, "CreateBucketConfiguration")
        storage_class = root.findtext("StorageClass") or storage_class
        redundancy = root.findtext("DataRedundancyType") or redundancy
    if storage_class not in STORAGE_CLASSES:
        raise invalid_argument("Invalid storage class.", "StorageClass", storage_class)
    if redundancy not in REDUNDANCY_TYPES:
        raise invalid_argument("Invalid data redundancy type.", "DataRedundancyType", redundancy)
    return storage_class, redundancy


async def put_bucket(call: Call):
    account = _require_account(call)
    name = call.bucket_name
    if not _NAME.match(name):
        raise OssError(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=name)
    acl = _acl_header(call, None)
    storage_class, redundancy = _creation_config(await call.request.read())
    existing = call.store.bucket(name)
    if existing is not None:
        if existing.account != account:
            raise OssError(409, "BucketAlreadyExists",
                           "The requested bucket name is not available. The bucket namespace is shared "
                           "by all users of the system. Please select a different name and try again.",
                           BucketName=name)
        if acl is not None and acl != existing.acl:   # the owner's repeated PutBucket only sets the ACL
            existing.acl = acl
            call.store.save_bucket(existing)
        return call.respond(headers={"Location": f"/{name}"})
    if len(call.store.buckets_of(account)) >= MAX_BUCKETS_PER_ACCOUNT:
        raise OssError(400, "TooManyBuckets", "You have attempted to create more buckets than allowed.")
    region, now = call.region(), call.now()
    if region not in REGIONS:
        raise OssError(400, "InvalidLocationConstraint", "The specified location-constraint is not valid.",
                       LocationConstraint=f"oss-{region}")
    call.store.add_bucket(account, new_bucket_record(name, region, storage_class, acl or "private", redundancy,
                                                     created=now, creation_date=xmldoc.iso8601(now)))
    return call.respond(headers={"Location": f"/{name}"})


async def get_bucket_info(call: Call):
    bucket = call.bucket(OWNER)
    root = ElementTree.Element("BucketInfo")
    node = xmldoc.add(root, "Bucket")
    xmldoc.add(node, "AccessMonitor", "Disabled")
    xmldoc.add(node, "CreationDate", xmldoc.iso8601(bucket.created))
    _add_endpoints(node, bucket.region)
    xmldoc.add(node, "Location", location(bucket.region))
    xmldoc.add(node, "Region", bucket.region)
    xmldoc.add(node, "StorageClass", bucket.storage_class)
    xmldoc.add(node, "TransferAcceleration", "Disabled")
    xmldoc.add(node, "CrossRegionReplication", "Disabled")
    xmldoc.add(node, "DataRedundancyType", bucket.redundancy)
    xmldoc.add(node, "Name", bucket.name)
    xmldoc.add(node, "Comment", "")
    xmldoc.add(node, "Versioning", "Disabled")
    _add_owner(node, bucket.account)
    acl = xmldoc.add(node, "AccessControlList")
    xmldoc.add(acl, "Grant", bucket.acl)
    encryption = xmldoc.add(node, "ServerSideEncryptionRule")
    xmldoc.add(encryption, "SSEAlgorithm", "None")
    return call.respond_xml(root)


async def get_bucket_location(call: Call):
    bucket = call.bucket(OWNER)
    root = ElementTree.Element("LocationConstraint")
    root.text = location(bucket.region)
    return call.respond_xml(root)


async def get_bucket_stat(call: Call):
    bucket = call.bucket(OWNER)
    root = ElementTree.Element("BucketStat")
    objects = bucket.objects.values()
    xmldoc.add(root, "Storage", sum(record.size for record in objects))
    xmldoc.add(root, "ObjectCount", len(bucket.objects))
    xmldoc.add(root, "MultipartUploadCount", len(bucket.uploads))
    xmldoc.add(root, "LastModifiedTime", int(max((record.last_modified for record in objects), default=bucket.created)))
    return call.respond_xml(root)


async def get_bucket_acl(call: Call):
    bucket = call.bucket(OWNER)
    root = ElementTree.Element("AccessControlPolicy")
    _add_owner(root, bucket.account)
    acl = xmldoc.add(root, "AccessControlList")
    xmldoc.add(acl, "Grant", bucket.acl)
    return call.respond_xml(root)


async def put_bucket_acl(call: Call):
    bucket = call.bucket(OWNER)
    acl = _acl_header(call, None)
    if acl is None:
        raise invalid_argument("The x-oss-acl header is missing.", "x-oss-acl", "")
    bucket.acl = acl
    call.store.save_bucket(bucket)
    return call.respond()


async def delete_bucket(call: Call):
    bucket = call.bucket(OWNER)
    if bucket.objects or bucket.uploads:
        raise OssError(409, "BucketNotEmpty", "The bucket you tried to delete is not empty.",
                       BucketName=bucket.name)
    call.store.delete_bucket(bucket)
    return call.respond(204)

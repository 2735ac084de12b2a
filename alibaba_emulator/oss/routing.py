"""Which OSS operation a request is (by method, path level and sub-resource), under the API's own
names, which are also the names fault injection and throttling use: PutObject, UploadPart, ..."""
from . import buckets, multipart, object_lists, objects
from .call import Call
from .errors import OssError
from .signing import V1_SUBRESOURCES

HANDLERS = {
    "ListBuckets": buckets.list_buckets,
    "DescribeRegions": buckets.describe_regions,
    "PutBucket": buckets.put_bucket,
    "GetBucketInfo": buckets.get_bucket_info,
    "GetBucketLocation": buckets.get_bucket_location,
    "GetBucketStat": buckets.get_bucket_stat,
    "GetBucketAcl": buckets.get_bucket_acl,
    "PutBucketAcl": buckets.put_bucket_acl,
    "DeleteBucket": buckets.delete_bucket,
    "ListObjects": object_lists.list_objects,
    "ListObjectsV2": object_lists.list_objects_v2,
    "DeleteMultipleObjects": objects.delete_multiple_objects,
    "PutObject": objects.put_object,
    "CopyObject": objects.copy_object,
    "GetObject": objects.get_object,
    "HeadObject": objects.head_object,
    "GetObjectMeta": objects.get_object_meta,
    "DeleteObject": objects.delete_object,
    "InitiateMultipartUpload": multipart.initiate,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": multipart.upload_part_copy,
    "ListParts": multipart.list_parts,
    "CompleteMultipartUpload": multipart.complete,
    "AbortMultipartUpload": multipart.abort,
    "ListMultipartUploads": multipart.list_uploads,
}

# Operations on the service or on a bucket's configuration, which the real service throttles as
# "meta" operations (MetaOperationQpsLimitExceeded); the others count against the total QPS.
META_OPERATIONS = frozenset({"ListBuckets", "DescribeRegions", "PutBucket", "GetBucketInfo", "GetBucketLocation",
                             "GetBucketStat", "GetBucketAcl", "PutBucketAcl", "DeleteBucket"})

# Signed query parameters that qualify a call rather than name an operation.
_ANY_OPERATION = frozenset({"security-token"})
_GET_OBJECT_SUBRESOURCES = {f"response-{name}" for name in objects.RESPONSE_OVERRIDES} | {"x-oss-traffic-limit"}


def _by_subresource(call: Call, choices: dict[str, str], default: str | None, allowed: set = frozenset()) -> str:
    """The operation named by the first sub-resource present in `choices`, else `default`; any
    other signed sub-resource names an operation the emulator does not have."""
    present = {name for name, _ in call.params if name in V1_SUBRESOURCES or name in choices}
    present -= set(allowed) | _ANY_OPERATION
    for subresource, operation in choices.items():
        if subresource in present:
            return operation
    if present or default is None:
        named = ", ".join(sorted(present)) or "no sub-resource"
        raise OssError(400, "NotImplemented",
                       f"The emulator does not implement this OSS operation ({call.method} with {named}).")
    return default


def operation(call: Call) -> str:
    method = call.method
    if not call.bucket_name:
        if method == "GET":
            return _by_subresource(call, {"regions": "DescribeRegions"}, "ListBuckets")
    elif not call.key:
        if method == "GET":
            default = "ListObjectsV2" if call.query.get("list-type") == "2" else "ListObjects"
            return _by_subresource(call, {"bucketInfo": "GetBucketInfo", "location": "GetBucketLocation",
                                          "stat": "GetBucketStat", "acl": "GetBucketAcl",
                                          "uploads": "ListMultipartUploads"}, default,
                                   allowed={"continuation-token"})
        if method == "PUT":
            return _by_subresource(call, {"acl": "PutBucketAcl"}, "PutBucket")
        if method == "DELETE":
            return _by_subresource(call, {}, "DeleteBucket")
        if method == "POST":
            return _by_subresource(call, {"delete": "DeleteMultipleObjects"}, None)
    else:
        copying = "x-oss-copy-source" in call.headers
        if method == "PUT":
            if "uploadId" in call.query:
                return _by_subresource(call, {"uploadId": "UploadPartCopy" if copying else "UploadPart"}, None,
                                       allowed={"partNumber"})
            return _by_subresource(call, {}, "CopyObject" if copying else "PutObject")
        if method == "GET":
            return _by_subresource(call, {"uploadId": "ListParts"}, "GetObject", allowed=_GET_OBJECT_SUBRESOURCES)
        if method == "HEAD":
            return _by_subresource(call, {"objectMeta": "GetObjectMeta"}, "HeadObject")
        if method == "DELETE":
            return _by_subresource(call, {"uploadId": "AbortMultipartUpload"}, "DeleteObject")
        if method == "POST":
            return _by_subresource(call, {"uploads": "InitiateMultipartUpload",
                                          "uploadId": "CompleteMultipartUpload"}, None)
    raise OssError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

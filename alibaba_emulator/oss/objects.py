"""Object operations: PutObject, GetObject (with Range and conditions), HeadObject,
GetObjectMeta, DeleteObject, DeleteMultipleObjects and CopyObject."""
import asyncio
import base64
import hashlib
import re
import shutil
from email.utils import parsedate_tz, mktime_tz
from urllib.parse import quote, unquote
from xml.etree import ElementTree

from . import bodies, xmldoc
from .call import READ, WRITE, Call
from .errors import OssError, invalid_argument, malformed_xml, no_such_key
from .store import BucketRecord, ObjectRecord

# Standard headers an upload may set and later reads give back.
STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")
# GetObject may override these in its answer with response-<name> query parameters.
RESPONSE_OVERRIDES = ("content-type", "content-language", "expires", "cache-control",
                      "content-disposition", "content-encoding")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
MAX_DELETE_KEYS = 1000


def check_key(key: str) -> None:
    if not 1 <= len(key.encode("utf-8")) <= 1023 or key[0] in "/\\":
        raise OssError(400, "InvalidObjectName", "The specified object is not valid.", Key=key)


def storage_class(call: Call, default: str) -> str:
    value = call.headers.get("x-oss-storage-class", default)
    if value not in STORAGE_CLASSES:
        raise invalid_argument("Invalid storage class.", "x-oss-storage-class", value)
    return value


def upload_attributes(call: Call) -> dict:
    """What an upload's headers say about the object: its type, standard headers and user metadata."""
    return {
        "content_type": call.headers.get("Content-Type") or "application/octet-stream",
        "headers": {name: call.headers[name] for name in STORED_HEADERS if name in call.headers},
        "meta": {name.lower()[len("x-oss-meta-"):]: value for name, value in call.headers.items()
                 if name.lower().startswith("x-oss-meta-")},
    }


def check_overwrite(call: Call, bucket: BucketRecord) -> None:
    if call.headers.get("x-oss-forbid-overwrite", "").lower() == "true" and call.key in bucket.objects:
        raise OssError(409, "FileAlreadyExists", "The object you specified already exists and can not be "
                                                 "overwritten.", Key=call.key)


def written_headers(record: ObjectRecord) -> dict:
    return {"ETag": f'"{record.etag}"', "x-oss-hash-crc64ecma": str(record.crc64)}


def existing_object(bucket: BucketRecord, key: str) -> ObjectRecord:
    record = bucket.objects.get(key)
    if record is None:
        raise no_such_key(key)
    return record


async def put_object(call: Call):
    bucket = call.bucket(WRITE)
    check_key(call.key)
    check_overwrite(call, bucket)
    klass = storage_class(call, bucket.storage_class)
    received = await bodies.receive(call.request, call.store.new_temp_path())
    try:   # the bucket may have gone, or the key appeared, while the body was arriving
        bucket = call.bucket(WRITE)
        check_overwrite(call, bucket)
    except OssError:
        received.path.unlink(missing_ok=True)
        raise
    content_md5 = base64.b64encode(received.md5).decode("ascii")
    record = ObjectRecord(key=call.key, size=received.size, etag=received.etag, crc64=received.crc64,
                          last_modified=call.now(), object_type="Normal", storage_class=klass, data_file="",
                          content_md5=content_md5, **upload_attributes(call))
    call.store.put_object(bucket, record, received.path)
    return call.respond(headers={**written_headers(record), "Content-MD5": content_md5})


def _object_headers(call: Call, record: ObjectRecord) -> dict:
    headers = {
        "x-oss-request-id": call.request_id,
        "Content-Type": record.content_type,
        "ETag": f'"{record.etag}"',
        "Last-Modified": xmldoc.http_date(record.last_modified),
        "Accept-Ranges": "bytes",
        "x-oss-object-type": record.object_type,
        "x-oss-storage-class": record.storage_class,
        "x-oss-hash-crc64ecma": str(record.crc64),
        **record.headers,
        **{f"x-oss-meta-{name}": value for name, value in record.meta.items()},
    }
    for name in RESPONSE_OVERRIDES:
        if f"response-{name}" in call.query and call.method == "GET":
            headers["-".join(part.capitalize() for part in name.split("-"))] = call.query[f"response-{name}"]
    return headers


def _http_time(value: str) -> float | None:
    parsed = parsedate_tz(value)
    return mktime_tz(parsed) if parsed else None


def _check_conditions(call: Call, record: ObjectRecord) -> bool:
    """False when the object is unchanged for the client (304); raises for a failed precondition."""
    etag = f'"{record.etag}"'
    modified = int(record.last_modified)
    if_match = call.headers.get("If-Match")
    if if_match is not None and if_match not in (etag, record.etag, "*"):
        raise OssError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.",
                       Condition="If-Match")
    unmodified_since = _http_time(call.headers.get("If-Unmodified-Since", ""))
    if unmodified_since is not None and modified > unmodified_since:
        raise OssError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.",
                       Condition="If-Unmodified-Since")
    if_none_match = call.headers.get("If-None-Match")
    if if_none_match is not None:
        return if_none_match not in (etag, record.etag, "*")
    modified_since = _http_time(call.headers.get("If-Modified-Since", ""))
    return modified_since is None or modified > modified_since


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(value: str, size: int, strict: bool) -> tuple[int, int] | None:
    """(offset, length) of a `bytes=a-b` range. An invalid one means the whole object, as OSS does
    by default; with `x-oss-range-behavior: standard` (strict) it is refused with 416."""
    match = _RANGE.fullmatch(value.strip())
    first, last = (match.group(1), match.group(2)) if match else ("", "")
    valid = False
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        valid = start < size and (not last or int(last) >= start)
    elif last:
        start, end = max(0, size - int(last)), size - 1
        valid = int(last) > 0 and size > 0
    if valid:
        return start, end - start + 1
    if strict:
        error = OssError(416, "InvalidRange", "The requested range is not satisfiable")
        error.headers["Content-Range"] = f"bytes */{size}"
        raise error
    return None


async def get_object(call: Call):
    bucket = call.bucket(READ)
    record = existing_object(bucket, call.key)
    headers = _object_headers(call, record)
    if not _check_conditions(call, record):
        return call.respond(304, headers={name: headers[name] for name in ("ETag", "Last-Modified")})
    wanted = None
    if "Range" in call.headers:
        strict = call.headers.get("x-oss-range-behavior", "").lower() == "standard"
        wanted = byte_range(call.headers["Range"], record.size, strict)
    path = call.store.object_path(bucket, record)
    if wanted is None:
        if record.content_md5:
            headers["Content-MD5"] = record.content_md5
        return bodies.FileRangeResponse(path, 0, record.size, status=200, headers=headers)
    offset, length = wanted
    headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{record.size}"
    return bodies.FileRangeResponse(path, offset, length, status=206, headers=headers)


async def head_object(call: Call):
    bucket = call.bucket(READ)
    record = existing_object(bucket, call.key)
    headers = _object_headers(call, record)
    if not _check_conditions(call, record):
        return call.respond(304, headers={name: headers[name] for name in ("ETag", "Last-Modified")})
    if record.content_md5:
        headers["Content-MD5"] = record.content_md5
    return bodies.FileRangeResponse(call.store.object_path(bucket, record), 0, record.size, status=200,
                                    headers=headers)


async def get_object_meta(call: Call):
    bucket = call.bucket(READ)
    record = existing_object(bucket, call.key)
    headers = {"x-oss-request-id": call.request_id, "ETag": f'"{record.etag}"',
               "Last-Modified": xmldoc.http_date(record.last_modified),
               "x-oss-hash-crc64ecma": str(record.crc64)}
    return bodies.FileRangeResponse(call.store.object_path(bucket, record), 0, record.size, status=200,
                                    headers=headers)


async def delete_object(call: Call):
    bucket = call.bucket(WRITE)
    call.store.delete_object(bucket, call.key)
    return call.respond(204)


async def delete_multiple_objects(call: Call):
    bucket = call.bucket(WRITE)
    body = await call.request.read()
    expected_md5 = call.headers.get("Content-MD5")
    if expected_md5 is not None and expected_md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
        raise OssError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
    root = xmldoc.parse(body, "Delete")
    keys = [node.findtext("Key") or "" for node in root.findall("Object")]
    if not keys or len(keys) > MAX_DELETE_KEYS:
        raise malformed_xml()
    quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
    encode = (lambda text: quote(text, safe="")) if call.query.get("encoding-type") == "url" else (lambda text: text)
    result = ElementTree.Element("DeleteResult")
    if call.query.get("encoding-type") == "url":
        xmldoc.add(result, "EncodingType", "url")
    for key in keys:
        call.store.delete_object(bucket, key)
        if not quiet:
            xmldoc.add(xmldoc.add(result, "Deleted"), "Key", encode(key))
    return call.respond_xml(result)


def copy_source(call: Call) -> tuple[BucketRecord, ObjectRecord]:
    """The bucket and object named by `x-oss-copy-source: /bucket/url-encoded-key`."""
    value = call.headers["x-oss-copy-source"].split("?", 1)[0]
    source_bucket, _, source_key = value.lstrip("/").partition("/")
    source_bucket, source_key = unquote(source_bucket), unquote(source_key)
    if not source_bucket or not source_key:
        raise invalid_argument("Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.",
                               "x-oss-copy-source", value)
    bucket = call.store.bucket(source_bucket)
    if bucket is None:
        raise OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=source_bucket)
    if bucket.account != call.account and bucket.acl == "private":
        raise OssError(403, "AccessDenied", "You have no right to access this object.")
    return bucket, existing_object(bucket, source_key)


async def copy_object(call: Call):
    target_bucket = call.bucket(WRITE)
    check_key(call.key)
    check_overwrite(call, target_bucket)
    source_bucket, source = copy_source(call)
    klass = storage_class(call, source.storage_class)
    replace = call.headers.get("x-oss-metadata-directive", "COPY").upper() == "REPLACE"
    attributes = upload_attributes(call) if replace else {
        "content_type": source.content_type, "headers": dict(source.headers), "meta": dict(source.meta)}
    temporary = call.store.new_temp_path()
    await asyncio.get_running_loop().run_in_executor(
        None, shutil.copyfile, call.store.object_path(source_bucket, source), temporary)
    record = ObjectRecord(key=call.key, size=source.size, etag=source.etag, crc64=source.crc64,
                          last_modified=call.now(), object_type=source.object_type,
                          storage_class=klass, data_file="",
                          content_md5=source.content_md5, **attributes)
    call.store.put_object(target_bucket, record, temporary)
    root = ElementTree.Element("CopyObjectResult")
    xmldoc.add(root, "ETag", f'"{record.etag}"')
    xmldoc.add(root, "LastModified", xmldoc.iso8601(record.last_modified))
    return call.respond_xml(root, headers=written_headers(record))

"""Multipart upload: InitiateMultipartUpload, UploadPart, UploadPartCopy, ListParts,
CompleteMultipartUpload, AbortMultipartUpload and ListMultipartUploads, with the service's rules
(parts 1-10000, every part but the last at least 100 KB, parts listed in ascending order with their
ETags) so that `oss2.resumable_upload` behaves as against the real service, resuming included."""
import asyncio
import hashlib
import time
import uuid
from urllib.parse import quote
from xml.etree import ElementTree

from . import bodies, xmldoc
from .call import READ, WRITE, Call
from .errors import OssError, invalid_argument, no_such_upload
from .objects import (byte_range, check_key, check_overwrite, copy_source, storage_class, upload_attributes,
                      written_headers)
from .store import BucketRecord, ObjectRecord, PartRecord, UploadRecord

MAX_PART_NUMBER = 10000
MIN_PART_SIZE = 100 * 1024


def _encoder(call: Call):
    return (lambda text: quote(text, safe="")) if call.query.get("encoding-type") == "url" else (lambda text: text)


def _upload(call: Call, bucket: BucketRecord) -> UploadRecord:
    upload_id = call.query.get("uploadId", "")
    upload = bucket.uploads.get(upload_id)
    if upload is None or upload.key != call.key:
        raise no_such_upload(upload_id)
    return upload


def _part_number(call: Call) -> int:
    value = call.query.get("partNumber", "")
    if not value.isdigit() or not 1 <= int(value) <= MAX_PART_NUMBER:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive.",
                               "partNumber", value)
    return int(value)


def _new_upload_id() -> str:
    # Time first, so that uploads of one key list in the order they began.
    return f"{time.time_ns():016X}{uuid.uuid4().hex[:16].upper()}"


async def initiate(call: Call):
    bucket = call.bucket(WRITE)
    check_key(call.key)
    check_overwrite(call, bucket)
    upload = UploadRecord(upload_id=_new_upload_id(), key=call.key, initiated=call.now(),
                          storage_class=storage_class(call, bucket.storage_class), **upload_attributes(call))
    call.store.save_upload(bucket, upload)
    encode = _encoder(call)
    root = ElementTree.Element("InitiateMultipartUploadResult")
    if call.query.get("encoding-type") == "url":
        xmldoc.add(root, "EncodingType", "url")
    xmldoc.add(root, "Bucket", bucket.name)
    xmldoc.add(root, "Key", encode(call.key))
    xmldoc.add(root, "UploadId", upload.upload_id)
    return call.respond_xml(root)


def _store_part(call: Call, received: bodies.Received) -> PartRecord:
    """Keep a received part, unless its upload ended while the bytes were arriving."""
    try:
        bucket = call.bucket(WRITE)
        upload = _upload(call, bucket)
    except OssError:
        received.path.unlink(missing_ok=True)
        raise
    part = PartRecord(number=_part_number(call), size=received.size, etag=received.etag, crc64=received.crc64,
                      md5_digest_hex=received.md5.hex(), last_modified=call.now(), data_file="")
    call.store.put_part(bucket, upload, part, received.path)
    return part


async def upload_part(call: Call):
    _upload(call, call.bucket(WRITE))
    _part_number(call)
    received = await bodies.receive(call.request, call.store.new_temp_path())
    part = _store_part(call, received)
    return call.respond(headers={"ETag": f'"{part.etag}"', "x-oss-hash-crc64ecma": str(part.crc64)})


def _copy_range(source_path, offset, length, target) -> bodies.Received:
    size, crc = bodies.copy_with_checksums([(source_path, offset, length)], target)
    md5 = hashlib.md5()
    with open(target, "rb") as copied:
        while chunk := copied.read(bodies.CHUNK):
            md5.update(chunk)
    return bodies.Received(target, size, md5.digest(), crc)


async def upload_part_copy(call: Call):
    _upload(call, call.bucket(WRITE))
    _part_number(call)
    source_bucket, source = copy_source(call)
    wanted = byte_range(call.headers.get("x-oss-copy-source-range", ""), source.size, strict=False)
    offset, length = wanted or (0, source.size)
    received = await asyncio.get_running_loop().run_in_executor(
        None, _copy_range, call.store.object_path(source_bucket, source), offset, length,
        call.store.new_temp_path())
    part = _store_part(call, received)
    root = ElementTree.Element("CopyPartResult")
    xmldoc.add(root, "LastModified", xmldoc.iso8601(part.last_modified))
    xmldoc.add(root, "ETag", f'"{part.etag}"')
    return call.respond_xml(root, headers={"ETag": f'"{part.etag}"', "x-oss-hash-crc64ecma": str(part.crc64)})


async def list_parts(call: Call):
    bucket = call.bucket(WRITE)
    upload = _upload(call, bucket)
    marker_text = call.query.get("part-number-marker", "") or "0"
    if not marker_text.isdigit():
        raise invalid_argument("Invalid part number marker.", "part-number-marker", marker_text)
    marker = int(marker_text)
    max_parts = call.int_param("max-parts", 1000, 1000)
    numbers = sorted(number for number in upload.parts if number > marker)
    page, truncated = numbers[:max_parts], len(numbers) > max_parts

    root = ElementTree.Element("ListPartsResult")
    xmldoc.add(root, "Bucket", bucket.name)
    xmldoc.add(root, "Key", call.key)
    xmldoc.add(root, "UploadId", upload.upload_id)
    xmldoc.add(root, "PartNumberMarker", marker)
    xmldoc.add(root, "NextPartNumberMarker", page[-1] if page else marker)
    xmldoc.add(root, "MaxParts", max_parts)
    xmldoc.add(root, "IsTruncated", xmldoc.boolean(truncated))
    for number in page:
        part = upload.parts[number]
        node = xmldoc.add(root, "Part")
        xmldoc.add(node, "PartNumber", number)
        xmldoc.add(node, "LastModified", xmldoc.iso8601(part.last_modified))
        xmldoc.add(node, "ETag", f'"{part.etag}"')
        xmldoc.add(node, "HashCrc64ecma", part.crc64)
        xmldoc.add(node, "Size", part.size)
    return call.respond_xml(root)


def _requested_parts(call: Call, upload: UploadRecord, body: bytes) -> list[PartRecord]:
    if call.headers.get("x-oss-complete-all", "").lower() == "yes":
        if body.strip():
            raise invalid_argument("Should not specify both complete all header and http body.",
                                   "x-oss-complete-all", "yes")
        return [upload.parts[number] for number in sorted(upload.parts)]
    root = xmldoc.parse(body, "CompleteMultipartUpload")
    listed = []
    for node in root.findall("Part"):
        number, etag = (node.findtext("PartNumber") or "").strip(), (node.findtext("ETag") or "").strip()
        if not number.isdigit():
            raise invalid_argument("Invalid part number.", "PartNumber", number)
        listed.append((int(number), etag.strip('"').upper()))
    if not listed:
        raise OssError(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                                            "against our published schema.")
    parts = []
    for index, (number, etag) in enumerate(listed):
        if index and number <= listed[index - 1][0]:
            raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts list "
                                                    "must specified in order by part number.")
        part = upload.parts.get(number)
        if part is None or part.etag != etag:
            raise OssError(400, "InvalidPart", "One or more of the specified parts could not be found or the "
                                               "specified entity tag might not have matched the part's entity "
                                               "tag.", PartNumber=str(number), ETag=etag)
        parts.append(part)
    return parts


async def complete(call: Call):
    bucket = call.bucket(WRITE)
    upload = _upload(call, bucket)
    check_overwrite(call, bucket)
    parts = _requested_parts(call, upload, await call.request.read())
    if not parts:
        raise OssError(400, "InvalidPart", "One or more of the specified parts could not be found.")
    for part in parts[:-1]:
        if part.size < MIN_PART_SIZE:
            raise OssError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed "
                                                  "object size.", PartNumber=str(part.number))
    temporary = call.store.new_temp_path()
    sources = [(call.store.part_path(bucket, upload, part), 0, part.size) for part in parts]
    size, crc = await asyncio.get_running_loop().run_in_executor(
        None, bodies.copy_with_checksums, sources, temporary)
    if bucket.uploads.get(upload.upload_id) is not upload:    # aborted while the parts were joined
        temporary.unlink(missing_ok=True)
        raise no_such_upload(upload.upload_id)
    digests = b"".join(bytes.fromhex(part.md5_digest_hex) for part in parts)
    record = ObjectRecord(key=call.key, size=size, etag=f"{hashlib.md5(digests).hexdigest().upper()}-{len(parts)}",
                          crc64=crc, last_modified=call.now(), content_type=upload.content_type,
                          object_type="Multipart", storage_class=upload.storage_class, data_file="",
                          headers=upload.headers, meta=upload.meta)
    call.store.put_object(bucket, record, temporary)
    call.store.delete_upload(bucket, upload)

    encode = _encoder(call)
    root = ElementTree.Element("CompleteMultipartUploadResult")
    if call.query.get("encoding-type") == "url":
        xmldoc.add(root, "EncodingType", "url")
    xmldoc.add(root, "Location", f"http://{call.request.host}/{bucket.name}/{quote(call.key)}")
    xmldoc.add(root, "Bucket", bucket.name)
    xmldoc.add(root, "Key", encode(call.key))
    xmldoc.add(root, "ETag", f'"{record.etag}"')
    return call.respond_xml(root, headers=written_headers(record))


async def abort(call: Call):
    bucket = call.bucket(WRITE)
    call.store.delete_upload(bucket, _upload(call, bucket))
    return call.respond(204)


async def list_uploads(call: Call):
    bucket = call.bucket(READ)
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    key_marker, id_marker = call.query.get("key-marker", ""), call.query.get("upload-id-marker", "")
    max_uploads = call.int_param("max-uploads", 1000, 1000)
    encode = _encoder(call)

    entries, last_prefix, truncated = [], None, False
    for upload in sorted(bucket.uploads.values(), key=lambda item: (item.key, item.upload_id)):
        if not upload.key.startswith(prefix):
            continue
        after_marker = upload.key > key_marker or (upload.key == key_marker and id_marker
                                                   and upload.upload_id > id_marker)
        if not after_marker:
            continue
        entry = upload
        if delimiter and (cut := upload.key.find(delimiter, len(prefix))) >= 0:
            entry = upload.key[:cut + len(delimiter)]
            if entry in (last_prefix, key_marker):
                continue
            last_prefix = entry
        if len(entries) == max_uploads:
            truncated = True
            break
        entries.append(entry)

    root = ElementTree.Element("ListMultipartUploadsResult")
    if call.query.get("encoding-type") == "url":
        xmldoc.add(root, "EncodingType", "url")
    xmldoc.add(root, "Bucket", bucket.name)
    xmldoc.add(root, "KeyMarker", encode(key_marker))
    xmldoc.add(root, "UploadIdMarker", id_marker)
    last = entries[-1] if truncated else None
    next_key = (last if isinstance(last, str) else last.key) if last is not None else ""
    xmldoc.add(root, "NextKeyMarker", encode(next_key))
    xmldoc.add(root, "NextUploadIdMarker", last.upload_id if isinstance(last, UploadRecord) else "")
    xmldoc.add(root, "Delimiter", encode(delimiter))
    xmldoc.add(root, "Prefix", encode(prefix))
    xmldoc.add(root, "MaxUploads", max_uploads)
    xmldoc.add(root, "IsTruncated", xmldoc.boolean(truncated))
    for entry in entries:
        if isinstance(entry, str):
            xmldoc.add(xmldoc.add(root, "CommonPrefixes"), "Prefix", encode(entry))
            continue
        node = xmldoc.add(root, "Upload")
        xmldoc.add(node, "Key", encode(entry.key))
        xmldoc.add(node, "UploadId", entry.upload_id)
        xmldoc.add(node, "StorageClass", entry.storage_class)
        xmldoc.add(node, "Initiated", xmldoc.iso8601(entry.initiated))
    return call.respond_xml(root)

"""ListObjects (v1, marker paging) and ListObjectsV2 (continuation tokens), with prefix,
delimiter, max-keys and `encoding-type=url` (keys sent URL-encoded, which oss2 always asks for)."""
import base64
import binascii
from urllib.parse import quote
from xml.etree import ElementTree

from . import listing, xmldoc
from .call import READ, Call
from .errors import invalid_argument
from .store import BucketRecord


def _encoder(call: Call):
    encoding = call.query.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise invalid_argument("The encoding type is not supported.", "encoding-type", encoding)
    return (lambda text: quote(text, safe="")) if encoding == "url" else (lambda text: text)


def _add_entries(root: ElementTree.Element, bucket: BucketRecord, page: listing.Page, encode, with_owner: bool):
    for key in page.keys:
        record = bucket.objects[key]
        node = xmldoc.add(root, "Contents")
        xmldoc.add(node, "Key", encode(key))
        xmldoc.add(node, "LastModified", xmldoc.iso8601(record.last_modified))
        xmldoc.add(node, "ETag", f'"{record.etag}"')
        xmldoc.add(node, "Type", record.object_type)
        xmldoc.add(node, "Size", record.size)
        xmldoc.add(node, "StorageClass", record.storage_class)
        if with_owner:
            owner = xmldoc.add(node, "Owner")
            xmldoc.add(owner, "ID", bucket.account)
            xmldoc.add(owner, "DisplayName", bucket.account)
    for prefix in page.prefixes:
        xmldoc.add(xmldoc.add(root, "CommonPrefixes"), "Prefix", encode(prefix))


async def list_objects(call: Call):
    bucket = call.bucket(READ)
    encode = _encoder(call)
    prefix, delimiter, marker = (call.query.get(name, "") for name in ("prefix", "delimiter", "marker"))
    max_keys = call.int_param("max-keys", 100, 1000)
    page = listing.page(bucket.keys, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys)

    root = ElementTree.Element("ListBucketResult")
    xmldoc.add(root, "Name", bucket.name)
    xmldoc.add(root, "Prefix", encode(prefix))
    xmldoc.add(root, "Marker", encode(marker))
    xmldoc.add(root, "MaxKeys", max_keys)
    xmldoc.add(root, "Delimiter", encode(delimiter))
    if call.query.get("encoding-type"):
        xmldoc.add(root, "EncodingType", "url")
    xmldoc.add(root, "IsTruncated", xmldoc.boolean(page.truncated))
    if page.truncated:
        xmldoc.add(root, "NextMarker", encode(page.next_marker))
    _add_entries(root, bucket, page, encode, with_owner=True)
    return call.respond_xml(root)


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def _key_of_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid_argument("The continuation token provided is incorrect.", "continuation-token", token) from None


async def list_objects_v2(call: Call):
    bucket = call.bucket(READ)
    encode = _encoder(call)
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    start_after, token = call.query.get("start-after", ""), call.query.get("continuation-token", "")
    max_keys = call.int_param("max-keys", 100, 1000)
    marker = _key_of_token(token) if token else start_after
    page = listing.page(bucket.keys, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys)

    root = ElementTree.Element("ListBucketResult")
    xmldoc.add(root, "Name", bucket.name)
    xmldoc.add(root, "Prefix", encode(prefix))
    if start_after:
        xmldoc.add(root, "StartAfter", encode(start_after))
    if token:
        xmldoc.add(root, "ContinuationToken", token)
    xmldoc.add(root, "MaxKeys", max_keys)
    xmldoc.add(root, "Delimiter", encode(delimiter))
    if call.query.get("encoding-type"):
        xmldoc.add(root, "EncodingType", "url")
    xmldoc.add(root, "IsTruncated", xmldoc.boolean(page.truncated))
    if page.truncated:
        xmldoc.add(root, "NextContinuationToken", _token(page.next_marker))
    xmldoc.add(root, "KeyCount", len(page.keys) + len(page.prefixes))
    _add_entries(root, bucket, page, encode, with_owner=call.query.get("fetch-owner") == "true")
    return call.respond_xml(root)

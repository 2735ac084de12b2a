"""Objects through oss2: put, get (whole, ranges), head, CRC-64 checked by oss2 on both ways,
ETags, metadata, copy, delete one or many, and listing v1/v2 with prefix, delimiter and paging."""
import base64
import hashlib

import oss2
import pytest
import requests

from tests.emulator.oss_fixtures import DEMO_ACCOUNT, bucket, demo_auth, demo_bucket, keys, oss_server  # noqa: F401


def test_put_get_head_delete_with_crc_and_etag(oss_server, demo_bucket):
    payload = bytes(range(256)) * 1000
    put = demo_bucket.put_object("data/blob.bin", payload, headers={"x-oss-meta-owner": "ops",
                                                                    "Content-Type": "application/x-test"})
    # oss2 compares its own CRC-64 of what it sent with x-oss-hash-crc64ecma (InconsistentError if not).
    assert put.crc is not None
    assert put.etag == hashlib.md5(payload).hexdigest().upper()

    got = demo_bucket.get_object("data/blob.bin")
    assert got.read() == payload
    assert got.client_crc == got.server_crc == put.crc
    assert got.headers["Content-MD5"] == base64.b64encode(hashlib.md5(payload).digest()).decode()

    head = demo_bucket.head_object("data/blob.bin")
    assert (head.content_length, head.etag, head.object_type, head.content_type) == (
        len(payload), put.etag, "Normal", "application/x-test")
    assert head.headers["x-oss-meta-owner"] == "ops"
    meta = demo_bucket.get_object_meta("data/blob.bin")
    assert (meta.content_length, meta.etag) == (len(payload), put.etag)

    demo_bucket.delete_object("data/blob.bin")
    demo_bucket.delete_object("data/blob.bin")     # deleting what is gone is not an error
    with pytest.raises(oss2.exceptions.NoSuchKey):
        demo_bucket.get_object("data/blob.bin")
    assert keys(demo_bucket) == []


def test_range_get(oss_server, demo_bucket):
    demo_bucket.put_object("digits", b"0123456789")
    part = demo_bucket.get_object("digits", byte_range=(2, 5))
    assert (part.status, part.read(), part.content_range) == (206, b"2345", "bytes 2-5/10")
    assert demo_bucket.get_object("digits", byte_range=(7, None)).read() == b"789"
    assert demo_bucket.get_object("digits", byte_range=(None, 3)).read() == b"789"
    assert demo_bucket.get_object("digits", byte_range=(8, 100)).read() == b"89"

    # An unsatisfiable range means the whole object, unless the client asks for standard behaviour.
    whole = demo_bucket.get_object("digits", byte_range=(20, 30))
    assert (whole.status, whole.read()) == (200, b"0123456789")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        demo_bucket.get_object("digits", byte_range=(20, 30), headers={"x-oss-range-behavior": "standard"})
    assert (raised.value.status, raised.value.code) == (416, "InvalidRange")


def test_conditional_get(oss_server, demo_bucket):
    etag = demo_bucket.put_object("doc", b"v1").etag
    with pytest.raises(oss2.exceptions.NotModified):
        demo_bucket.get_object("doc", headers={"If-None-Match": f'"{etag}"'})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        demo_bucket.get_object("doc", headers={"If-Match": '"0000"'})
    assert demo_bucket.get_object("doc", headers={"If-Match": f'"{etag}"'}).read() == b"v1"


def test_a_wrong_content_md5_is_refused(oss_server, demo_bucket):
    with pytest.raises(oss2.exceptions.InvalidDigest):
        demo_bucket.put_object("checked", b"body", headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()})
    assert keys(demo_bucket) == []


def test_copy_object_and_replace_metadata(oss_server, demo_bucket):
    original = demo_bucket.put_object("src", b"copy me", headers={"x-oss-meta-a": "1"})
    copied = demo_bucket.copy_object("demo-bucket", "src", "dst")
    assert copied.etag == original.etag
    assert demo_bucket.get_object("dst").read() == b"copy me"
    assert demo_bucket.head_object("dst").headers["x-oss-meta-a"] == "1"

    demo_bucket.update_object_meta("dst", {"x-oss-meta-b": "2"})
    head = demo_bucket.head_object("dst")
    assert head.headers["x-oss-meta-b"] == "2" and "x-oss-meta-a" not in head.headers
    with pytest.raises(oss2.exceptions.NoSuchKey):
        demo_bucket.copy_object("demo-bucket", "missing", "dst2")


def test_batch_delete(oss_server, demo_bucket):
    for key in ["a", "b", "c"]:
        demo_bucket.put_object(key, key.encode())
    result = demo_bucket.batch_delete_objects(["a", "c", "never-there"])
    assert sorted(result.deleted_keys) == ["a", "c", "never-there"]
    assert [item.key for item in oss2.ObjectIterator(demo_bucket)] == ["b"]


@pytest.fixture
def tree(demo_bucket):
    keys = ["a.txt", "photos/2025/1.jpg", "photos/2025/2.jpg", "photos/2026/1.jpg", "photos/cover.jpg",
            "videos/x.mp4", "z.txt"]
    for key in keys:
        demo_bucket.put_object(key, b"x")
    return keys


def test_list_objects_with_delimiter_pages_over_keys_and_common_prefixes(oss_server, demo_bucket, tree):
    first = demo_bucket.list_objects(delimiter="/", max_keys=2)
    assert ([item.key for item in first.object_list], first.prefix_list) == (["a.txt"], ["photos/"])
    assert first.is_truncated and first.next_marker == "photos/"
    second = demo_bucket.list_objects(delimiter="/", marker=first.next_marker, max_keys=2)
    assert ([item.key for item in second.object_list], second.prefix_list) == (["z.txt"], ["videos/"])
    assert not second.is_truncated

    inside = demo_bucket.list_objects(prefix="photos/", delimiter="/")
    assert ([item.key for item in inside.object_list], inside.prefix_list) == (
        ["photos/cover.jpg"], ["photos/2025/", "photos/2026/"])
    assert [item.key for item in oss2.ObjectIterator(demo_bucket, max_keys=3)] == tree
    listed = demo_bucket.list_objects(prefix="videos/").object_list[0]
    assert (listed.size, listed.type, listed.storage_class, listed.etag) == (
        1, "Normal", "Standard", hashlib.md5(b"x").hexdigest().upper())


def test_list_objects_v2_pages_with_continuation_tokens(oss_server, demo_bucket, tree):
    first = demo_bucket.list_objects_v2(prefix="photos/", max_keys=2)
    assert [item.key for item in first.object_list] == ["photos/2025/1.jpg", "photos/2025/2.jpg"]
    assert first.is_truncated
    second = demo_bucket.list_objects_v2(prefix="photos/", continuation_token=first.next_continuation_token,
                                         max_keys=2)
    assert [item.key for item in second.object_list] == ["photos/2026/1.jpg", "photos/cover.jpg"]
    assert not second.is_truncated
    after = demo_bucket.list_objects_v2(start_after="photos/cover.jpg", delimiter="/")
    assert ([item.key for item in after.object_list], after.prefix_list) == (["z.txt"], ["videos/"])
    assert [item.key for item in oss2.ObjectIteratorV2(demo_bucket, max_keys=2)] == tree
    assert demo_bucket.list_objects_v2(fetch_owner=True).object_list[0].owner.id == DEMO_ACCOUNT


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_keys_with_unusual_characters_round_trip(oss_server, demo_bucket, version):
    signed = bucket(oss_server, "demo-bucket", auth=demo_auth(version))
    names = ["中文/文件.txt", "spaces and %25 percent", "a+b=c&d", "trailing/", "~tilde*star(1)"]
    for key in names:
        signed.put_object(key, key.encode())
    assert sorted(item.key for item in oss2.ObjectIteratorV2(signed)) == sorted(names)
    for key in names:
        assert signed.get_object(key).read() == key.encode()
        assert requests.get(signed.sign_url("GET", key, 60)).content == key.encode()


def test_max_keys_out_of_range_is_invalid_argument(oss_server, demo_bucket):
    with pytest.raises(oss2.exceptions.InvalidArgument):
        demo_bucket.list_objects(max_keys=5000)


def test_response_header_overrides_are_signed_sub_resources(oss_server, demo_bucket):
    demo_bucket.put_object("report.csv", b"a,b")
    params = {"response-content-type": "text/csv", "response-content-disposition": 'attachment; filename="r.csv"'}
    got = demo_bucket.get_object("report.csv", params=params)
    assert (got.headers["Content-Type"], got.headers["Content-Disposition"]) == (
        "text/csv", 'attachment; filename="r.csv"')
    assert got.read() == b"a,b"

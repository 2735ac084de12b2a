"""Multipart upload through oss2: resumable_upload cut off by an injected fault resumes with only
the missing parts; the service's rules on parts; listing of uploads and parts; throttling."""
import os

import oss2
import pytest

from tests.emulator.oss_fixtures import demo_bucket, oss_server, pending_uploads  # noqa: F401
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET

PART_SIZE = 100 * 1024      # the service's smallest part but the last


class PartRecordingBucket(oss2.Bucket):
    """The real oss2 Bucket, noting which part numbers it uploads, with a hook run before each."""

    def __init__(self, *args, before_part=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.uploaded_parts = []
        self.before_part = before_part

    def upload_part(self, key, upload_id, part_number, data, *args, **kwargs):
        if self.before_part:
            self.before_part(part_number)
        self.uploaded_parts.append(part_number)
        return super().upload_part(key, upload_id, part_number, data, *args, **kwargs)


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "disk.qcow2"
    path.write_bytes(os.urandom(5 * PART_SIZE + 1234))     # six parts, the last one short
    return path


def test_resumable_upload_resumes_only_the_missing_parts_after_an_injected_fault(
        oss_server, demo_bucket, image_file, tmp_path):
    def fail_the_third_part(part_number):
        if part_number == 3:
            oss_server.fault("UploadPart", code="InternalError", message="disk on fire", http_status=500)

    target = PartRecordingBucket(oss2.Auth(DEMO_KEY_ID, DEMO_KEY_SECRET), oss_server.endpoint, "demo-bucket",
                                 before_part=fail_the_third_part)
    checkpoints = oss2.ResumableStore(root=str(tmp_path / "checkpoints"))

    def upload():
        return oss2.resumable_upload(target, "images/disk.qcow2", str(image_file), store=checkpoints,
                                     multipart_threshold=PART_SIZE, part_size=PART_SIZE, num_threads=1)

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        upload()
    assert (raised.value.status, raised.value.code, raised.value.message) == (500, "InternalError", "disk on fire")
    assert target.uploaded_parts == [1, 2, 3]
    [(key, _, parts)] = pending_uploads(demo_bucket)
    assert (key, parts) == ("images/disk.qcow2", [1, 2])

    target.uploaded_parts.clear()
    target.before_part = None
    result = upload()
    assert target.uploaded_parts == [3, 4, 5, 6]
    assert pending_uploads(demo_bucket) == []

    stored = demo_bucket.get_object("images/disk.qcow2")
    assert stored.read() == image_file.read_bytes()
    assert stored.client_crc == stored.server_crc
    assert stored.object_type == "Multipart"
    assert result.etag.endswith("-6")


def test_multipart_by_hand_checks_parts(oss_server, demo_bucket):
    key = "manual.bin"
    upload_id = demo_bucket.init_multipart_upload(key).upload_id
    first = demo_bucket.upload_part(key, upload_id, 1, b"a" * PART_SIZE)
    second = demo_bucket.upload_part(key, upload_id, 2, b"b" * 10)

    parts = demo_bucket.list_parts(key, upload_id).parts
    assert [(part.part_number, part.etag, part.size) for part in parts] == [
        (1, first.etag, PART_SIZE), (2, second.etag, 10)]
    assert [part.part_number for part in oss2.PartIterator(demo_bucket, key, upload_id, max_parts=1)] == [1, 2]

    with pytest.raises(oss2.exceptions.ServerError) as raised:
        demo_bucket.complete_multipart_upload(key, upload_id, [oss2.models.PartInfo(1, "0" * 32)])
    assert raised.value.code == "InvalidPart"

    small = demo_bucket.upload_part(key, upload_id, 1, b"tiny")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        demo_bucket.complete_multipart_upload(key, upload_id, [oss2.models.PartInfo(1, small.etag),
                                                               oss2.models.PartInfo(2, second.etag)])
    assert raised.value.code == "EntityTooSmall"

    first = demo_bucket.upload_part(key, upload_id, 1, b"a" * PART_SIZE)
    done = demo_bucket.complete_multipart_upload(key, upload_id, [
        oss2.models.PartInfo(1, first.etag, size=PART_SIZE, part_crc=first.crc),
        oss2.models.PartInfo(2, second.etag, size=10, part_crc=second.crc)])
    # oss2 combined the parts' CRCs itself and compared with the object's: they agree.
    assert done.crc is not None
    assert demo_bucket.get_object(key).read() == b"a" * PART_SIZE + b"b" * 10

    with pytest.raises(oss2.exceptions.NoSuchUpload):
        demo_bucket.upload_part(key, upload_id, 3, b"late")


def test_abort_multipart_upload_removes_its_parts(oss_server, demo_bucket):
    upload_id = demo_bucket.init_multipart_upload("aborted").upload_id
    demo_bucket.upload_part("aborted", upload_id, 1, b"x" * 10)
    demo_bucket.abort_multipart_upload("aborted", upload_id)
    assert pending_uploads(demo_bucket) == []
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        demo_bucket.list_parts("aborted", upload_id)
    assert not list((oss_server.state_dir / "oss").rglob("*.data"))


def test_list_multipart_uploads_pages(oss_server, demo_bucket):
    ids = {key: demo_bucket.init_multipart_upload(key).upload_id for key in ["a/1", "a/2", "b/1"]}
    first = demo_bucket.list_multipart_uploads(max_uploads=2)
    assert [(item.key, item.upload_id) for item in first.upload_list] == [("a/1", ids["a/1"]), ("a/2", ids["a/2"])]
    assert first.is_truncated
    rest = demo_bucket.list_multipart_uploads(key_marker=first.next_key_marker,
                                              upload_id_marker=first.next_upload_id_marker)
    assert [item.key for item in rest.upload_list] == ["b/1"] and not rest.is_truncated
    grouped = demo_bucket.list_multipart_uploads(delimiter="/")
    assert grouped.prefix_list == ["a/", "b/"]
    assert [item.key for item in oss2.MultipartUploadIterator(demo_bucket, max_uploads=1)] == ["a/1", "a/2", "b/1"]


def test_upload_part_copy(oss_server, demo_bucket):
    demo_bucket.put_object("source", b"0123456789" * PART_SIZE)
    upload_id = demo_bucket.init_multipart_upload("assembled").upload_id
    first = demo_bucket.upload_part_copy("demo-bucket", "source", (0, PART_SIZE - 1), "assembled", upload_id, 1)
    second = demo_bucket.upload_part_copy("demo-bucket", "source", (PART_SIZE, PART_SIZE + 9), "assembled",
                                          upload_id, 2)
    demo_bucket.complete_multipart_upload("assembled", upload_id, [oss2.models.PartInfo(1, first.etag),
                                                                   oss2.models.PartInfo(2, second.etag)])
    source = (b"0123456789" * PART_SIZE)
    assert demo_bucket.get_object("assembled").read() == source[:PART_SIZE + 10]


def test_throttled_calls_answer_503_with_retry_after(oss_server, demo_bucket):
    oss_server.throttle("PutObject", retry_after=2.5)
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        demo_bucket.put_object("busy", b"x")
    assert (raised.value.status, raised.value.code) == (503, "TotalQpsLimitExceeded")
    assert raised.value.headers["Retry-After"] == "3"
    demo_bucket.put_object("busy", b"x")       # one throttled call, as asked

    oss_server.throttle("GetBucketInfo")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        demo_bucket.get_bucket_info()
    assert raised.value.code == "MetaOperationQpsLimitExceeded"


def test_resumable_upload_with_parallel_parts(oss_server, demo_bucket, tmp_path):
    source = tmp_path / "parallel.img"
    source.write_bytes(os.urandom(8 * PART_SIZE + 99))
    oss2.resumable_upload(demo_bucket, "parallel.img", str(source),
                          store=oss2.ResumableStore(root=str(tmp_path / "checkpoints")),
                          multipart_threshold=PART_SIZE, part_size=PART_SIZE, num_threads=4)
    stored = demo_bucket.get_object("parallel.img")
    assert stored.read() == source.read_bytes()
    assert stored.client_crc == stored.server_crc
    assert demo_bucket.head_object("parallel.img").etag.endswith("-9")

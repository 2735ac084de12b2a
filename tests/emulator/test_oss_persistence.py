"""OSS state lives in files under the state directory: a restarted emulator has its buckets,
objects and unfinished multipart uploads back, and an upload cut off before the restart resumes."""
import os

import oss2
import pytest

from tests.emulator.oss_fixtures import bucket, demo_auth, own_oss_server, pending_uploads  # noqa: F401

PART_SIZE = 100 * 1024


def test_buckets_objects_and_uploads_survive_a_restart(own_oss_server, tmp_path):
    images = bucket(own_oss_server, "images-beijing", auth=demo_auth("v4"), region="cn-beijing")
    images.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    put = images.put_object("dir/readme.txt", b"kept", headers={"x-oss-meta-note": "restart"})
    images.put_object("dir/readme.txt", b"kept across a restart")     # the second version wins
    upload_id = images.init_multipart_upload("big.img").upload_id
    part = images.upload_part("big.img", upload_id, 1, b"p" * PART_SIZE)

    own_oss_server.restart()
    images = bucket(own_oss_server, "images-beijing", auth=demo_auth("v4"), region="cn-beijing")

    info = images.get_bucket_info()
    assert (info.location, info.acl.grant) == ("oss-cn-beijing", "public-read")
    got = images.get_object("dir/readme.txt")
    assert got.read() == b"kept across a restart" and got.etag != put.etag
    assert got.client_crc == got.server_crc
    assert [item.key for item in oss2.ObjectIterator(images)] == ["dir/readme.txt"]
    [listed] = images.list_parts("big.img", upload_id).parts
    assert (listed.part_number, listed.etag) == (1, part.etag)

    last = images.upload_part("big.img", upload_id, 2, b"q" * 10)
    images.complete_multipart_upload("big.img", upload_id, [oss2.models.PartInfo(1, part.etag),
                                                            oss2.models.PartInfo(2, last.etag)])
    assert images.get_object("big.img").read() == b"p" * PART_SIZE + b"q" * 10

    # One data file per object: replaced versions and joined parts leave nothing behind.
    data_files = sorted(path.name for path in (own_oss_server.state_dir / "oss").rglob("*.data"))
    assert len(data_files) == 2


def test_a_resumable_upload_cut_off_before_a_restart_resumes_after_it(own_oss_server, tmp_path):
    demo = bucket(own_oss_server, "demo-bucket")
    demo.create_bucket()
    source = tmp_path / "disk.raw"
    source.write_bytes(os.urandom(3 * PART_SIZE + 7))
    checkpoints = oss2.ResumableStore(root=str(tmp_path / "checkpoints"))

    own_oss_server.fault("UploadPart", code="ServiceUnavailable", message="going down", http_status=503)
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        oss2.resumable_upload(demo, "disk.raw", str(source), store=checkpoints,
                              multipart_threshold=PART_SIZE, part_size=PART_SIZE, num_threads=1)
    assert raised.value.status == 503
    [(_, _, begun_parts)] = pending_uploads(demo)
    own_oss_server.restart()

    demo = bucket(own_oss_server, "demo-bucket")
    oss2.resumable_upload(demo, "disk.raw", str(source), store=checkpoints,
                          multipart_threshold=PART_SIZE, part_size=PART_SIZE, num_threads=1)
    assert demo.get_object("disk.raw").read() == source.read_bytes()
    # The upload the first attempt began is the one that was completed.
    assert pending_uploads(demo) == []
    assert demo.head_object("disk.raw").etag.endswith("-4")
    assert begun_parts == []


def _peak_memory_kib(pid) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")


def test_large_bodies_stream_through_files_not_memory(own_oss_server, tmp_path):
    size = 96 * 1024 * 1024
    source = tmp_path / "large.img"
    with open(source, "wb") as out:
        for _ in range(size // (8 * 1024 * 1024)):
            out.write(os.urandom(8 * 1024 * 1024))
    demo = bucket(own_oss_server, "large-bucket")
    demo.create_bucket()
    before = _peak_memory_kib(own_oss_server.server.proc.pid)

    demo.put_object_from_file("large.img", str(source))       # oss2 checks the CRC of what it sent
    downloaded = tmp_path / "downloaded.img"
    demo.get_object_to_file("large.img", str(downloaded))

    assert downloaded.stat().st_size == size
    assert downloaded.read_bytes() == source.read_bytes()
    # Neither the upload nor the download was held whole in the emulator's memory.
    assert _peak_memory_kib(own_oss_server.server.proc.pid) - before < 32 * 1024


def test_object_info_tells_ecs_what_an_account_may_import(own_oss_server):
    from alibaba_emulator.emulator import Emulator
    from alibaba_emulator.oss import object_info
    from tests.emulator.oss_fixtures import DEMO_ACCOUNT

    images = bucket(own_oss_server, "images-shanghai", auth=demo_auth("v4"), region="cn-shanghai")
    images.create_bucket()
    put = images.put_object("disk.qcow2", b"qcow2 bytes")
    own_oss_server.server.stop()

    # The ECS side of the same state directory, in process, as ImportImage sees it.
    emulator = Emulator(own_oss_server.state_dir, "LTAI5tDemoKey0CloudPortal", "CloudPortalDemoSecret0000000000")
    assert object_info(emulator, DEMO_ACCOUNT, "images-shanghai", "disk.qcow2") == {
        "size": 11, "etag": put.etag, "region": "cn-shanghai"}
    assert object_info(emulator, DEMO_ACCOUNT, "images-shanghai", "missing.qcow2") is None
    assert object_info(emulator, DEMO_ACCOUNT, "no-such-bucket", "disk.qcow2") is None
    assert object_info(emulator, "1688000000000099", "images-shanghai", "disk.qcow2") is None

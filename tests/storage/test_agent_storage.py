"""The agent's storage paths: libvirt backend (real files, qemu-img) and sim (bookkeeping, faults)."""
import hashlib
import json
import subprocess

import pytest

from hostagent.client import AgentClient, AgentError
from tests.hostagent.helpers import new_host

from .conftest import ImageServer, make_qcow2


@pytest.fixture
def lv(libvirt_agent):
    return AgentClient(libvirt_agent.url, libvirt_agent.host_uuid, libvirt_agent.secret, timeout=60)


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = ImageServer(root)
    image = make_qcow2(root / "base.qcow2", "32M")
    server.image = image
    server.sha256 = hashlib.sha256(image.read_bytes()).hexdigest()
    yield server
    server.close()


def qemu_info(path):
    return json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-U", str(path)], check=True,
                                     capture_output=True, text=True).stdout)


@pytest.mark.libvirt
def test_libvirt_capacity_cache_overlay_and_delete(lv, served, tmp_path):
    ps = tmp_path / "ps"
    capacity = lv.call("/v1/storage/capacity", {"path": str(ps)})
    assert ps.is_dir() and 0 < capacity["available"] <= capacity["total"]
    cache = str(ps / "imagecache" / f"{served.sha256}.qcow2")
    body = {"url": f"{served.url}/base.qcow2", "sha256": served.sha256, "path": cache}
    first = lv.call("/v1/image/cache", body)
    assert first["cached"] is False and first["actual_size"] == served.image.stat().st_size
    assert lv.call("/v1/image/cache", body)["cached"] is True   # idempotent: there already
    volume = str(ps / "rootVolumes" / "vol-1" / "v1.qcow2")
    answer = lv.call("/v1/volume/create", {"path": volume, "backing_file": cache, "backing_format": "qcow2",
                                           "size": 64 << 20})
    info = qemu_info(volume)
    assert info["format"] == "qcow2" and info["backing-filename"] == cache and info["virtual-size"] == 64 << 20
    assert answer["backing_file"] == cache and answer["size"] == 64 << 20
    assert lv.call("/v1/volume/create", {"path": volume, "backing_file": cache, "size": 64 << 20})["path"] == volume
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/volume/create", {"path": volume, "size": 1 << 20})
    assert exc.value.code == "VOLUME_EXISTS"
    assert lv.call("/v1/volume/delete", {"path": volume})["removed"] is True
    assert lv.call("/v1/volume/delete", {"path": volume})["removed"] is False
    assert lv.call("/v1/image/uncache", {"path": cache})["removed"] is True
    assert not list((ps / "imagecache").iterdir())


@pytest.mark.libvirt
def test_libvirt_volume_delete_removes_the_volumes_own_directory(lv, tmp_path):
    volumes = tmp_path / "ps" / "rootVolumes"
    volume = volumes / "vol-2" / "v2.qcow2"
    lv.call("/v1/volume/create", {"path": str(volume), "size": 1 << 20})
    assert lv.call("/v1/volume/delete", {"path": str(volume)})["removed"] is True
    assert list(volumes.iterdir()) == []
    # a directory left empty earlier goes with a delete of its (gone) file; one holding other files
    # stays, and so does a directory that is not a volume's own
    (volumes / "vol-3").mkdir()
    assert lv.call("/v1/volume/delete", {"path": str(volumes / "vol-3" / "v3.qcow2")})["removed"] is False
    assert not (volumes / "vol-3").exists()
    kept = volumes / "vol-4"
    lv.call("/v1/volume/create", {"path": str(kept / "a.qcow2"), "size": 1 << 20})
    (kept / "other").write_text("x")
    lv.call("/v1/volume/delete", {"path": str(kept / "a.qcow2")})
    assert [p.name for p in kept.iterdir()] == ["other"]
    shared = tmp_path / "ps" / "shared"
    lv.call("/v1/volume/create", {"path": str(shared / "b.qcow2"), "size": 1 << 20})
    lv.call("/v1/volume/delete", {"path": str(shared / "b.qcow2")})
    assert shared.is_dir()


@pytest.mark.libvirt
def test_libvirt_cache_refuses_wrong_bits_404_and_bad_paths(lv, served, tmp_path):
    cache = str(tmp_path / "ps" / "c.qcow2")
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/image/cache", {"url": f"{served.url}/base.qcow2", "sha256": "0" * 64, "path": cache})
    assert exc.value.code == "IMAGE_CHECKSUM_MISMATCH"
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/image/cache", {"url": f"{served.url}/nope", "sha256": served.sha256, "path": cache})
    assert exc.value.code == "IMAGE_DOWNLOAD_FAILED" and exc.value.details["status"] == 404
    assert list((tmp_path / "ps").iterdir()) == []   # no half file
    for bad in ("relative/path", "/a/../etc/passwd", 5):
        with pytest.raises(AgentError) as exc:
            lv.call("/v1/volume/delete", {"path": bad})
        assert exc.value.status == 400 and exc.value.code == "INVALID_REQUEST"
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/volume/create", {"path": str(tmp_path / "v.qcow2"), "backing_file": str(tmp_path / "none")})
    assert exc.value.code == "BACKING_FILE_NOT_FOUND"


def test_sim_storage_bookkeeping_and_faults(sim_agent_process):
    host_uuid, secret = new_host(sim_agent_process, storage_size=10 << 30)
    client = AgentClient(sim_agent_process.url, host_uuid, secret)
    assert client.call("/v1/storage/capacity", {"path": "/ps"}) == {"path": "/ps", "total": 10 << 30,
                                                                     "available": 10 << 30}
    body = {"url": "http://portal/image-store/x", "sha256": "a" * 64, "path": "/ps/imagecache/a.qcow2",
            "size": 1 << 30}
    assert client.call("/v1/image/cache", body)["cached"] is False
    assert client.call("/v1/image/cache", body)["cached"] is True
    assert client.call("/v1/storage/capacity", {"path": "/ps"})["available"] == 9 << 30
    volume = client.call("/v1/volume/create", {"path": "/ps/v.qcow2", "backing_file": "/ps/imagecache/a.qcow2",
                                               "size": 2 << 30})
    assert volume["size"] == 2 << 30 and volume["backing_file"] == "/ps/imagecache/a.qcow2"
    with pytest.raises(AgentError) as exc:
        client.call("/v1/image/cache", {**body, "path": "/ps/big", "size": 20 << 30})
    assert exc.value.code == "NOT_ENOUGH_SPACE"
    sim_agent_process.admin("POST", "/sim/faults", {"host_uuid": host_uuid, "path": "/v1/volume/create",
                                                    "mode": "fail", "count": 1})
    with pytest.raises(AgentError) as exc:
        client.call("/v1/volume/create", {"path": "/ps/w.qcow2", "size": 1 << 20})
    assert exc.value.status == 503 and exc.value.code == "INJECTED_FAILURE"
    assert client.call("/v1/volume/create", {"path": "/ps/w.qcow2", "size": 1 << 20})["size"] == 1 << 20
    assert client.call("/v1/volume/delete", {"path": "/ps/v.qcow2"})["removed"] is True
    assert client.call("/v1/image/uncache", {"path": "/ps/imagecache/a.qcow2"})["removed"] is True
    assert client.call("/v1/storage/capacity", {"path": "/ps"})["available"] == (10 << 30) - 196608   # an empty qcow2 is 192 KiB

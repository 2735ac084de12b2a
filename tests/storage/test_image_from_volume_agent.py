"""The agent's paths for clones, images from volumes and reinit (hostagent/backends/clone_ops.py):
libvirt backend on real files with qemu-img/qemu-io, and the simulator's bookkeeping."""
import hashlib
import http.server
import os
import subprocess
import threading
import time
import uuid

import pytest

from hostagent.client import AgentClient, AgentError
from tests.hostagent.helpers import new_host

from .conftest import make_qcow2


@pytest.fixture
def lv(libvirt_agent):
    return AgentClient(libvirt_agent.url, libvirt_agent.host_uuid, libvirt_agent.secret, timeout=60)


class Receiver:
    """A tiny HTTP server standing in for the portal's upload endpoint: keeps each PUT."""

    def __init__(self, status=201):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                length = int(self.headers["Content-Length"])
                received.append((self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/image-store/upload/bs/job"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def qemu_io_ok(path, command):
    result = subprocess.run(["qemu-io", "-r", "-U", "-c", command, path], capture_output=True, text=True)
    return result.returncode == 0 and "verification failed" not in result.stdout


@pytest.mark.libvirt
def test_libvirt_copy_flattens_the_chain_and_refuses_a_disk_in_use(lv, tmp_path):
    base = make_qcow2(tmp_path / "base.qcow2", "16M")
    subprocess.run(["qemu-io", "-c", "write -P 0x11 0 64k", str(base)], check=True, capture_output=True)
    top = tmp_path / "vol-a" / "top.qcow2"
    lv.call("/v1/volume/create", {"path": str(top), "backing_file": str(base), "size": 16 << 20})
    subprocess.run(["qemu-io", "-c", "write -P 0x22 64k 64k", str(top)], check=True, capture_output=True)
    dst = tmp_path / "vol-b" / "copy.qcow2"
    answer = lv.call("/v1/volume/copy", {"src": str(top), "dst": str(dst)})
    assert answer["backing_file"] is None and answer["size"] == 16 << 20 and answer["format"] == "qcow2"
    assert qemu_io_ok(str(dst), "read -P 0x11 0 64k") and qemu_io_ok(str(dst), "read -P 0x22 64k 64k")
    assert lv.call("/v1/volume/copy", {"src": str(top), "dst": str(dst)}) == answer   # there already
    assert [p.name for p in dst.parent.iterdir()] == ["copy.qcow2"]                   # no temporary left
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/volume/copy", {"src": str(tmp_path / "none"), "dst": str(tmp_path / "x")})
    assert exc.value.code == "VOLUME_NOT_FOUND"
    # a process writing the disk (as a running domain's QEMU does) holds its lock: refused, nothing made
    writer = subprocess.Popen(["qemu-io", "-c", "sleep 20000", str(top)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        with pytest.raises(AgentError) as exc:
            lv.call("/v1/volume/copy", {"src": str(top), "dst": str(tmp_path / "vol-c" / "c.qcow2")})
        assert exc.value.status == 409 and exc.value.code == "VOLUME_IN_USE"
        assert not (tmp_path / "vol-c").exists() or not list((tmp_path / "vol-c").iterdir())
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.libvirt
def test_libvirt_convert_uploads_a_flat_qcow2_with_the_given_headers(lv, tmp_path, receiver):
    base = make_qcow2(tmp_path / "base.qcow2", "16M")
    subprocess.run(["qemu-io", "-c", "write -P 0x33 0 64k", str(base)], check=True, capture_output=True)
    top = tmp_path / "top.qcow2"
    lv.call("/v1/volume/create", {"path": str(top), "backing_file": str(base), "size": 16 << 20})
    answer = lv.call("/v1/volume/convert-to-image", {"src": str(top), "upload": {
        "url": receiver.url, "headers": {"X-Upload-Signature": "s3cr3t", "X-Upload-Expires": "1"}}})
    [(path, headers, body)] = receiver.received
    assert path == "/image-store/upload/bs/job" and headers["X-Upload-Signature"] == "s3cr3t"
    assert answer["sha256"] == hashlib.sha256(body).hexdigest() and answer["actual_size"] == len(body)
    assert answer["size"] == 16 << 20
    sent = tmp_path / "sent.qcow2"
    sent.write_bytes(body)
    assert qemu_io_ok(str(sent), "read -P 0x33 0 64k")
    assert sorted(os.listdir(tmp_path)) == ["base.qcow2", "sent.qcow2", "top.qcow2"]   # its temporary file went


@pytest.mark.libvirt
def test_libvirt_convert_to_an_unreachable_portal_fails_and_leaves_no_file(lv, tmp_path):
    src = make_qcow2(tmp_path / "v.qcow2", "16M")
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/volume/convert-to-image", {"src": str(src), "upload": {"url": "http://127.0.0.1:9/x",
                                                                            "headers": {}}})
    assert exc.value.code == "IMAGE_UPLOAD_FAILED" and exc.value.status == 422
    assert os.listdir(tmp_path) == ["v.qcow2"]


@pytest.mark.libvirt
def test_libvirt_rename_is_idempotent(lv, tmp_path):
    a = make_qcow2(tmp_path / "a.qcow2", "1M")
    b = tmp_path / "b.qcow2"
    assert lv.call("/v1/volume/rename", {"src": str(a), "dst": str(b)})["renamed"] is True
    assert lv.call("/v1/volume/rename", {"src": str(a), "dst": str(b)})["renamed"] is False
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/volume/rename", {"src": str(tmp_path / "c"), "dst": str(tmp_path / "d")})
    assert exc.value.code == "VOLUME_NOT_FOUND"
    with pytest.raises(AgentError) as exc:
        lv.call("/v1/volume/rename", {"src": str(b), "dst": str(b)})
    assert exc.value.code == "INVALID_REQUEST"


def test_sim_copy_convert_rename_and_a_running_domains_disk(sim_agent_process, receiver):
    host_uuid, secret = new_host(sim_agent_process, storage_size=10 << 30)
    client = AgentClient(sim_agent_process.url, host_uuid, secret)
    client.call("/v1/image/cache", {"url": "http://portal/x", "sha256": "a" * 64, "path": "/ps/c/a.qcow2",
                                    "size": 1 << 30})
    client.call("/v1/volume/create", {"path": "/ps/v.qcow2", "backing_file": "/ps/c/a.qcow2", "size": 2 << 30})
    copy = client.call("/v1/volume/copy", {"src": "/ps/v.qcow2", "dst": "/ps/w.qcow2"})
    assert copy["backing_file"] is None and copy["size"] == 2 << 30 and copy["actual_size"] == (1 << 30) + 196608
    answer = client.call("/v1/volume/convert-to-image", {"src": "/ps/v.qcow2", "upload": {
        "url": receiver.url, "headers": {"X-Upload-Signature": "s"}}})
    [(_, headers, body)] = receiver.received
    assert headers["X-Upload-Signature"] == "s" and body[:4] == b"QFI\xfb"
    assert answer["sha256"] == hashlib.sha256(body).hexdigest() and answer["size"] == 2 << 30
    assert client.call("/v1/volume/rename", {"src": "/ps/w.qcow2", "dst": "/ps/x.qcow2"})["renamed"] is True
    assert client.call("/v1/volume/info", {"path": "/ps/x.qcow2"})["size"] == 2 << 30
    vm = str(uuid.uuid4())
    client.call("/v1/vm/define", {"vm_uuid": vm, "name": "v", "cpu_num": 1, "memory_size": 64 << 20,
                                  "disk_path": "/ps/v.qcow2", "start": True})
    for path, body in (("/v1/volume/copy", {"src": "/ps/v.qcow2", "dst": "/ps/y.qcow2"}),
                       ("/v1/volume/convert-to-image", {"src": "/ps/v.qcow2", "upload": {"url": receiver.url}})):
        with pytest.raises(AgentError) as exc:
            client.call(path, body)
        assert exc.value.status == 409 and exc.value.code == "VOLUME_IN_USE"

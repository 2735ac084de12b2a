"""Fixtures for the host agent: a real agent subprocess on a free port, a tiny event receiver."""
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token"


def pytest_configure(config):
    # Also to be registered in pytest.ini (--strict-markers).
    config.addinivalue_line("markers", "libvirt: needs libvirt-python and a running libvirtd with QEMU")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AgentProcess:
    def __init__(self, *args, startup_timeout=30, address="127.0.0.1"):
        self.port = free_port()
        self.address = address
        self.url = f"http://{address}:{self.port}"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"hostagent-test-{self.port}.log"
        self.args = [sys.executable, "-m", "hostagent", "--listen", address, "--port", str(self.port), *args]
        self.startup_timeout = startup_timeout
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "wb")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the agent exited with {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection((self.address, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the agent did not listen within {self.startup_timeout}s:\n{self.log()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def admin(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.address, self.port, timeout=10)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                                       "Content-Type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        conn.close()
        return response.status, payload


@pytest.fixture(scope="module")
def sim_agent():
    agent = AgentProcess("--backend", "sim", "--admin-token", ADMIN_TOKEN).start()
    yield agent
    agent.stop()


class EventReceiver:
    """A stand-in portal: records POSTs to /api/v1/hosts/agent-events/ with their headers."""

    def __init__(self):
        self.received = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.cond:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    receiver.cond.notify_all()
                data = b'{"accepted": true}'
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                 + str(len(data)).encode() + b"\r\nConnection: close\r\n\r\n" + data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.received:
                    if predicate(item):
                        return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def event_receiver():
    receiver = EventReceiver()
    yield receiver
    receiver.close()


LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"


def libvirtd_running():
    """Whether libvirtd answers on its socket (the libvirt tests skip otherwise)."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(LIBVIRT_SOCKET)
        return True
    except OSError:
        return False


def start_libvirt_agent(directory, *extra, client_timeout=60):
    """A real libvirt host agent serving one host of its own: a fresh host uuid and secret (the
    secret in ``directory``/secret, mode 0600), ``agent.client`` signed with it. Skips the test
    when libvirt-python or libvirtd is missing. The caller stops it."""
    import uuid

    pytest.importorskip("libvirt", reason="libvirt-python is not installed")
    if not libvirtd_running():
        pytest.skip(f"libvirtd is not running ({LIBVIRT_SOCKET} does not answer)")
    from hostagent.client import AgentClient

    host_uuid, secret = str(uuid.uuid4()), uuid.uuid4().hex
    secret_file = Path(directory) / "secret"
    secret_file.write_text(secret + "\n")
    os.chmod(secret_file, 0o600)
    agent = AgentProcess("--backend", "libvirt", "--host-uuid", host_uuid, "--secret-file", str(secret_file),
                         "--libvirt-uri", "qemu:///system", *extra, startup_timeout=60).start()
    agent.client = AgentClient(agent.url, host_uuid, secret, timeout=client_timeout)
    agent.host_uuid, agent.secret = host_uuid, secret
    return agent


def remove_domain(vm_uuid):
    """Power off and undefine the libvirt domain ``vm_uuid`` if it exists (test cleanup)."""
    import libvirt

    conn = libvirt.open("qemu:///system")
    try:
        dom = conn.lookupByUUIDString(vm_uuid)
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    except libvirt.libvirtError:
        pass
    finally:
        conn.close()


@pytest.fixture
def test_bridge():
    """A Linux bridge of the test's own for the NICs of its domains, removed afterwards."""
    import uuid

    name = f"cpt{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    yield name
    subprocess.run(["ip", "link", "del", name], check=False)

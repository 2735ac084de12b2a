"""Storage fixtures: backup storage directories, a small HTTP server serving image files, real
image files (qemu-img), a simulator agent and a real libvirt agent registered as hosts."""
import functools
import http.server
import subprocess
import threading

import pytest

from apps.infra.models import Cluster, Host, Zone
from apps.storage.models import BackupStorage, PrimaryStorage
from tests.hostagent.conftest import free_port, start_libvirt_agent

MIB = 1024 * 1024
GIB = 1024 * MIB


def make_qcow2(path, size="64M"):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    return path


def make_iso(path, size=64 * 1024):
    """An ISO 9660 image as far as detection goes: the 'CD001' volume descriptor at 0x8001."""
    data = bytearray(size)
    data[0x8000:0x8006] = b"\x01CD001"
    path.write_bytes(bytes(data))
    return path


def make_raw_disk(path, size=MIB):
    data = bytearray(size)
    data[510:512] = b"\x55\xaa"   # MBR boot signature
    path.write_bytes(bytes(data))
    return path


class ImageServer:
    """Serves files of a directory over HTTP (Content-Length set; missing files are 404)."""

    def __init__(self, root):
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def image_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = ImageServer(root)
    yield server
    server.close()


@pytest.fixture
def unreachable_url():
    return f"http://127.0.0.1:{free_port()}/image.qcow2"


@pytest.fixture
def backup_storage(db, tmp_path):
    from apps.storage.models.backup_storage import check_directory

    url = str(tmp_path / "bs")
    total, available = check_directory(url)
    return BackupStorage.objects.create(name="bs", url=url, total_capacity=total, available_capacity=available)


# --- agents ----------------------------------------------------------------------------------



@pytest.fixture(scope="module")
def libvirt_agent(tmp_path_factory):
    agent = start_libvirt_agent(tmp_path_factory.mktemp("agent"))
    yield agent
    agent.stop()


@pytest.fixture
def zone(db):
    return Zone.objects.create(name="z")


@pytest.fixture
def kvm_host(libvirt_agent, zone):
    """The real libvirt agent as a Connected KVM host of cluster 'kvm'."""
    cluster = Cluster.objects.create(name="kvm", zone=zone, hypervisor_type="KVM")
    return Host.objects.create(uuid=libvirt_agent.host_uuid, name="local", cluster=cluster, hypervisor_type="KVM",
                               management_ip="127.0.0.1", agent_port=libvirt_agent.port,
                               agent_secret=libvirt_agent.secret, status="Connected", cpu_num=2,
                               memory_size=2 * GIB)


@pytest.fixture
def local_ps(zone, tmp_path):
    return PrimaryStorage.objects.create(name="local", url=str(tmp_path / "ps"), zone=zone)


@pytest.fixture
def sim_host(sim_agent, transactional_db, admin_client):
    """A Connected simulator host (added through the API) with local primary storage attached."""
    from apps.core.models import Job

    cluster = Cluster.objects.create(name="sim", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    response = admin_client.post("/api/v1/hosts/", {"name": "h", "cluster_uuid": str(cluster.uuid),
                                                    "hypervisor_type": "Simulator", "cpu_num": 4,
                                                    "memory_size": 8 * GIB}, format="json")
    assert Job.objects.get(uuid=response.json()["job"]["uuid"]).state == "succeeded"
    ps = PrimaryStorage.objects.create(name="local", url="/var/lib/cp/ps", zone=cluster.zone)
    response = admin_client.post(f"/api/v1/primary-storage/{ps.uuid}/attach/", {"cluster_uuid": str(cluster.uuid)},
                                 format="json")
    assert Job.objects.get(uuid=response.json()["job"]["uuid"]).state == "succeeded"
    return Host.objects.get()

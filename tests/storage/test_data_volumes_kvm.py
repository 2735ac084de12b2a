"""Data volumes on real QEMU through the real libvirt agent (hostagent/backends/volume_ops.py):
hot attach of a virtio-blk and a virtio-scsi disk to a running domain, seen in its live XML (what
``virsh domblklist`` lists) with serial and WWN; online resize seen by QEMU (blockInfo) and in the
file (qemu-img info); the SCSI disk's unplug completes without a guest, the virtio-blk one does not
(no guest OS here) and fails with DETACH_TIMEOUT, the disk kept in both definitions. One domain
for the module: these run in a few seconds."""
import json
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hostagent.client import AgentError
from tests.hostagent.conftest import remove_domain, start_libvirt_agent

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = pytest.mark.libvirt
MIB = 1 << 20


class Domain:
    def __init__(self, agent, work):
        self.agent, self.work, self.uuid = agent, work, str(uuid.uuid4())

    def disks(self, flags=0):
        """{target: (source file, serial, wwn, bus)} of the live (or with flags, the persistent) XML."""
        conn = libvirt.open("qemu:///system")
        try:
            root = ET.fromstring(conn.lookupByUUIDString(self.uuid).XMLDesc(flags))
        finally:
            conn.close()
        found = {}
        for disk in root.findall("./devices/disk"):
            source = disk.find("source")
            found[disk.find("target").get("dev")] = (source.get("file") if source is not None else None,
                                                     disk.findtext("serial"), disk.findtext("wwn"),
                                                     disk.find("target").get("bus"))
        return found

    def block_size(self, target):
        conn = libvirt.open("qemu:///system")
        try:
            return conn.lookupByUUIDString(self.uuid).blockInfo(target)[0]
        finally:
            conn.close()

    def new_file(self, name, size="16M"):
        path = self.work / name
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
        return str(path)


@pytest.fixture(scope="module")
def domain(tmp_path_factory):
    work = Path(tempfile.mkdtemp(prefix="cp-datavol-"))   # QEMU runs as its own user
    work.chmod(0o755)
    agent_dir = tmp_path_factory.mktemp("agent")
    agent = start_libvirt_agent(agent_dir)
    dom = Domain(agent, work)
    try:
        agent.client.call("/v1/vm/define", {"vm_uuid": dom.uuid, "name": "datavol", "cpu_num": 1,
                                            "memory_size": 64 * MIB, "vnc": False,
                                            "disk_path": dom.new_file("root.qcow2")})
        agent.client.call("/v1/vm/start", {"vm_uuid": dom.uuid})
        yield dom
    finally:
        remove_domain(dom.uuid)
        agent.stop()
        shutil.rmtree(work, ignore_errors=True)


def attach(dom, **disk):
    return dom.agent.client.call("/v1/vm/attach-disk", {"vm_uuid": dom.uuid, "disk": {"format": "qcow2", **disk}})


def test_hot_attach_puts_virtio_and_scsi_disks_with_serial_and_wwn_in_the_live_domain(domain):
    data, scsi = domain.new_file("data.qcow2"), domain.new_file("scsi.qcow2")
    answer = attach(domain, path=data, bus="virtio", target="vdb", serial="0123456789abcdef0123")
    assert answer["live"] is True
    attach(domain, path=scsi, bus="scsi", target="sda", serial="scsi0001", wwn="5000c50015ea71ac")
    live = domain.disks()
    assert live["vdb"] == (data, "0123456789abcdef0123", None, "virtio")
    assert live["sda"] == (scsi, "scsi0001", "5000c50015ea71ac", "scsi")
    persistent = domain.disks(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert persistent["vdb"][0] == data and persistent["sda"][0] == scsi
    # idempotent; another file at a used target is refused
    attach(domain, path=data, bus="virtio", target="vdb", serial="0123456789abcdef0123")
    with pytest.raises(AgentError) as refused:
        attach(domain, path=domain.new_file("other.qcow2"), bus="virtio", target="vdb")
    assert refused.value.code == "TARGET_IN_USE"


def test_online_resize_grows_the_running_disk_and_its_file_and_never_shrinks(domain):
    path = domain.disks()["vdb"][0]
    answer = domain.agent.client.call("/v1/volume/resize", {"path": path, "size": 48 * MIB, "vm_uuid": domain.uuid,
                                                           "target": "vdb"})
    assert answer == {"path": path, "size": 48 * MIB, "online": True}
    assert domain.block_size("vdb") == 48 * MIB
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", path], capture_output=True,
                                     check=True, text=True).stdout)
    assert info["virtual-size"] == 48 * MIB
    with pytest.raises(AgentError) as refused:
        domain.agent.client.call("/v1/volume/resize", {"path": path, "size": 16 * MIB, "vm_uuid": domain.uuid,
                                                      "target": "vdb"})
    assert refused.value.status == 409 and refused.value.code == "VOLUME_SHRINK_REFUSED"
    offline = domain.new_file("offline.qcow2")
    answer = domain.agent.client.call("/v1/volume/resize", {"path": offline, "size": 32 * MIB})
    assert answer["online"] is False and answer["size"] == 32 * MIB


def test_a_scsi_disk_unplugs_without_a_guest_a_virtio_blk_one_times_out_and_stays(domain):
    domain.agent.client.call("/v1/vm/detach-disk", {"vm_uuid": domain.uuid, "target": "sda", "timeout": 10})
    assert "sda" not in domain.disks() and "sda" not in domain.disks(libvirt.VIR_DOMAIN_XML_INACTIVE)
    # gone already: success
    domain.agent.client.call("/v1/vm/detach-disk", {"vm_uuid": domain.uuid, "target": "sda", "timeout": 1})

    with pytest.raises(AgentError) as timed_out:
        domain.agent.client.call("/v1/vm/detach-disk", {"vm_uuid": domain.uuid, "target": "vdb", "timeout": 1})
    assert timed_out.value.status == 409 and timed_out.value.code == "DETACH_TIMEOUT"
    assert "did not release" in timed_out.value.message
    # what the portal's rows say (still attached) is what the domain has, live and persistent
    assert "vdb" in domain.disks() and "vdb" in domain.disks(libvirt.VIR_DOMAIN_XML_INACTIVE)


# --- through the portal: API -> flow -> this real agent -> QEMU ----------------------------------
@pytest.fixture
def portal_vm(domain, db, admin_user, django_capture_on_commit_callbacks):
    """The module's running domain as a Running VM row of a Connected KVM host (the real agent),
    with local primary storage in a directory QEMU can reach."""
    from apps.storage.capacity import refresh_host_ref
    from apps.storage.models import PrimaryStorage
    from tests.console.conftest import make_kvm_host
    from tests.console.helpers import make_vm

    host = make_kvm_host(domain.agent)
    ps = PrimaryStorage.objects.create(name="local", url=str(domain.work / "ps"), zone=host.cluster.zone)
    ps.clusters.add(host.cluster)
    refresh_host_ref(ps, host)
    vm = make_vm(admin_user.account, host, uuid=domain.uuid, name="datavol", last_host=host, cluster=host.cluster)
    return vm, django_capture_on_commit_callbacks


def test_the_portal_attaches_grows_and_detaches_a_data_volume_on_the_running_qemu_vm(portal_vm, admin_client, domain):
    from apps.storage.models import Volume

    vm, capture = portal_vm

    def job(method, url, body=None):
        with capture(execute=True):
            response = getattr(admin_client, method)(url, body, format="json")
        assert response.status_code == 202, response.content
        found = admin_client.get(response["Location"]).json()
        assert found["state"] == "succeeded", found["error"]
        return response.json()

    made = job("post", "/api/v1/volumes/", {"name": "scsi-data", "size": 16 * MIB, "bus": "scsi"})
    uuid = made["resource"]["uuid"]
    job("post", f"/api/v1/volumes/{uuid}/attach/", {"vm_instance_uuid": str(vm.uuid)})
    row = Volume.objects.get(uuid=uuid)
    assert row.status == "Ready" and row.install_path.startswith(str(domain.work / "ps")) and row.device_target
    target = row.device_target
    source, serial, wwn, bus = domain.disks()[target]   # what `virsh domblklist` lists, with its serial
    assert (source, serial, wwn, bus) == (row.install_path, uuid.replace("-", "")[:20],
                                          "5" + uuid.replace("-", "")[-15:], "scsi")

    job("post", f"/api/v1/volumes/{uuid}/resize/", {"size": 32 * MIB})
    assert domain.block_size(target) == 32 * MIB and Volume.objects.get(uuid=uuid).size == 32 * MIB

    job("post", f"/api/v1/volumes/{uuid}/detach/")   # SCSI: released without a guest
    assert target not in domain.disks() and target not in domain.disks(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert Volume.objects.get(uuid=uuid).vm_instance_uuid is None

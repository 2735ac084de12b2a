"""A VM on real QEMU, from nothing, through the API only (issue 4's end-to-end test).

Zone, cluster, this machine as a KVM host (the agent deployed over SSH by the portal), an image
store with an image from a local URL, local primary storage, a NoVlan L2 on a test veth, an L3
with a range and DHCP, an offering; then a VM that runs on the real libvirtd, gets its allocated
IP from the host's dnsmasq (iPXE boots from the network: the blank disk has nothing to boot),
answers RFB through the console's websocket proxy with its own VNC password, and goes through
stop, start, reboot, pause, resume, destroy, recover and expunge, each checked against libvirt
itself; a power-off behind the portal's back is shown as it is (the agent's event). The portal is
a live server: the agent fetches the image from it and sends it its events.
"""
import time
from pathlib import Path

import pytest

from asgiref.sync import async_to_sync

from apps.compute.models import VmInstance
from apps.infra import agent
from apps.infra.models import Host
from tests.console import rfb
from tests.console.test_end_to_end import vnc_session
from tests.infra.conftest import needs_libvirtd
from tests.hostagent.conftest import free_port
from tests.network.conftest import test_interface, test_subnet  # noqa: F401  (fixtures)
from tests.storage.conftest import make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = [pytest.mark.libvirt, needs_libvirtd]
MIB = 1 << 20


def ok(response, status=(200, 201)):
    assert response.status_code in status, response.content
    return response.json()


def run(client, method, url, body=None):
    """A call that starts a job (run eagerly here: the test database is transactional); its job."""
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 202, response.content
    job = client.get(response["Location"]).json()
    assert job["state"] == "succeeded", (job["error"]["message"], [(s["name"], s["state"]) for s in job["steps"]])
    return response.json(), job


def domain_state(uuid):
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByUUIDString(uuid).state()[0]
    except libvirt.libvirtError:
        return None  # no such domain
    finally:
        conn.close()


def wait_for(predicate, timeout=90, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture
def qemu_dir():
    """A directory QEMU (user libvirt-qemu) can reach, for primary storage: pytest's tmp_path sits
    under root's 0700 /tmp/pytest-of-root."""
    import shutil
    import uuid

    path = Path("/var/tmp/cloudportal-tests") / uuid.uuid4().hex
    path.mkdir(parents=True, mode=0o755)
    Path("/var/tmp/cloudportal-tests").chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_vm_from_nothing_runs_on_qemu_gets_its_ip_and_lives_its_whole_life(
        transactional_db, admin_client, live_server, settings, sshd, agent_roots, tmp_path, qemu_dir,
        test_interface, test_subnet):
    settings.PORTAL_URL = live_server.url  # the agent fetches the image and posts its events here
    client = admin_client
    zone = ok(client.post("/api/v1/zones/", {"name": "z1"}, format="json"))
    cluster = ok(client.post("/api/v1/clusters/", {"name": "kvm", "zone_uuid": zone["uuid"],
                                                   "hypervisor_type": "KVM"}, format="json"))
    host, _ = run(client, "post", "/api/v1/hosts/", {
        "name": "local", "cluster_uuid": cluster["uuid"], "hypervisor_type": "KVM", "management_ip": "127.0.0.1",
        "ssh_port": sshd.port, "username": "root", "private_key": sshd.private_key, "agent_port": free_port()})
    host_uuid = host["resource"]["uuid"]
    l2 = None
    try:
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "store", "type": "ImageStore",
                                                        "url": str(tmp_path / "store")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": zone["uuid"]}, format="json"))
        source = make_qcow2(tmp_path / "blank.qcow2", "64M")
        image, _ = run(client, "post", "/api/v1/images/", {"name": "blank", "url": f"file://{source}",
                                                          "backup_storage_uuids": [bs["uuid"]], "platform": "Linux"})
        ps = ok(client.post("/api/v1/primary-storage/", {"name": "local", "type": "LocalStorage",
                                                         "url": str(qemu_dir / "ps"), "zone_uuid": zone["uuid"]},
                            format="json"))
        run(client, "post", f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": cluster["uuid"]})
        l2 = ok(client.post("/api/v1/l2-networks/", {"name": "flat", "type": "NoVlan",
                                                     "physical_interface": test_interface,
                                                     "zone_uuid": zone["uuid"]}, format="json"))
        run(client, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": cluster["uuid"]})
        l3 = ok(client.post("/api/v1/l3-networks/", {"name": "flat-l3", "l2_network_uuid": l2["uuid"],
                                                     "dns": ["10.0.0.53"]}, format="json"))
        ok(client.post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
            "start_ip": f"{test_subnet}.10", "end_ip": f"{test_subnet}.200", "netmask": "255.255.255.0",
            "gateway": f"{test_subnet}.1"}, format="json"))
        offering = ok(client.post("/api/v1/instance-offerings/", {"name": "tiny", "cpu_num": 1,
                                                                  "memory_size": 128 * MIB}, format="json"))
        ok(client.patch("/api/v1/global-configs/vm/stop.timeout/", {"value": 1}, format="json"))

        created, job = run(client, "post", "/api/v1/vm-instances/", {
            "name": "first", "instance_offering_uuid": offering["uuid"], "image_uuid": image["resource"]["uuid"],
            "l3_network_uuids": [l3["uuid"]]})
        uuid = created["resource"]["uuid"]
        vm = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert vm["state"] == "Running" and vm["host_uuid"] == host_uuid
        assert domain_state(uuid) == libvirt.VIR_DOMAIN_RUNNING
        [nic] = vm["nics"]
        conn = libvirt.open("qemu:///system")
        try:
            xml = conn.lookupByUUIDString(uuid).XMLDesc()
        finally:
            conn.close()
        assert nic["mac"] in xml and f"br_{test_interface}" in xml and "qcow2" in xml

        # the console: a token, then RFB through the websocket proxy, authenticated with the VM's password
        console = ok(client.post(f"/api/v1/vm-instances/{uuid}/console/"))
        assert console["websocket_url"].endswith(f"/ws/console/{console['token']}/")
        password = VmInstance.objects.get(uuid=uuid).console_password
        types, result, init = async_to_sync(vnc_session)(console["token"], password)
        assert rfb.SECURITY_VNC_AUTH in types and result == 0 and uuid in init["name"]

        # DHCP for real: iPXE asks the host's dnsmasq, which leases exactly the allocated address
        host_row = Host.objects.get(uuid=host_uuid)

        def leased():
            state = agent.call(host_row, "/v1/network/state")["dhcp"].get(l3["uuid"], {})
            return next((lease["ip"] for lease in state.get("leases", []) if lease["mac"] == nic["mac"]), None)

        assert wait_for(leased, timeout=120) == nic["ip"]

        def action(name, state_after, libvirt_state):
            run(client, "post", f"/api/v1/vm-instances/{uuid}/{name}/")
            assert client.get(f"/api/v1/vm-instances/{uuid}/").json()["state"] == state_after, name
            assert domain_state(uuid) == libvirt_state, name

        action("stop", "Stopped", libvirt.VIR_DOMAIN_SHUTOFF)
        action("start", "Running", libvirt.VIR_DOMAIN_RUNNING)
        action("reboot", "Running", libvirt.VIR_DOMAIN_RUNNING)
        action("pause", "Paused", libvirt.VIR_DOMAIN_PAUSED)
        action("resume", "Running", libvirt.VIR_DOMAIN_RUNNING)

        # powered off behind the portal's back (libvirt directly): the agent's event shows it Stopped
        conn = libvirt.open("qemu:///system")
        try:
            conn.lookupByUUIDString(uuid).destroy()
        finally:
            conn.close()
        assert wait_for(lambda: client.get(f"/api/v1/vm-instances/{uuid}/").json()["state"] == "Stopped", 30)
        assert client.get(f"/api/v1/hosts/{host_uuid}/").json()["used_cpu"] == 0
        action("start", "Running", libvirt.VIR_DOMAIN_RUNNING)

        run(client, "delete", f"/api/v1/vm-instances/{uuid}/")
        vm = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert vm["state"] == "Destroyed" and domain_state(uuid) is None
        root_volume = Path(client.get(f"/api/v1/volumes/{vm['root_volume_uuid']}/").json()["install_path"])
        assert root_volume.exists()  # the recycle bin keeps the disk
        assert ok(client.post(f"/api/v1/vm-instances/{uuid}/recover/"))["state"] == "Stopped"
        action("start", "Running", libvirt.VIR_DOMAIN_RUNNING)
        run(client, "delete", f"/api/v1/vm-instances/{uuid}/")
        run(client, "post", f"/api/v1/vm-instances/{uuid}/expunge/")
        assert client.get(f"/api/v1/vm-instances/{uuid}/").status_code == 404
        assert domain_state(uuid) is None and not root_volume.exists()
    finally:
        if l2 is not None:  # the bridge and the DHCP server go with the L2 (and its L3)
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")
        client.delete(f"/api/v1/clusters/{cluster['uuid']}/")  # undeploys the agent

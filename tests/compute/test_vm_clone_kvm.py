"""Clone, image from a volume and reinit on the real libvirt agent and QEMU, checked on the disks
themselves with qemu-io: data written on the source's root volume is in the clone's disk and in
the image made from the volume; the clone starts; reinit gives the clone back its image's content
(a blank image: zeros); a live clone of the running source copies from a temporary snapshot that
then goes. One test, one setup: they share the host, storage and network."""
import json
import subprocess

import pytest

from tests.infra.conftest import needs_libvirtd
from tests.compute.test_vm_kvm import domain_state, ok, qemu_dir, run  # noqa: F401  (qemu_dir: a fixture)
from tests.hostagent.conftest import remove_domain
from tests.network.conftest import (create_l2, create_l3, kvm_host, libvirt_agent,  # noqa: F401  (fixtures)
                                    test_interface, test_subnet, zone)
from tests.storage.conftest import make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = [pytest.mark.libvirt, needs_libvirtd]
MIB = 1 << 20
PATTERN = "0xab"


def qemu_io(path, command, *options):
    result = subprocess.run(["qemu-io", *options, "-c", command, path], capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def holds_pattern(path, pattern, shared=False):
    """The first 64 KiB of the disk read as ``pattern`` (qemu-io verifies every byte)."""
    code, out = qemu_io(path, f"read -P {pattern} 0 64k", "-r", *(["-U"] if shared else []))
    return code == 0 and "Pattern verification failed" not in out and "read 65536/65536" in out


def domain_xml(uuid):
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByUUIDString(uuid).XMLDesc(0)
    finally:
        conn.close()


def test_clone_image_from_volume_and_reinit_on_qemu(
        transactional_db, admin_client, live_server, settings, kvm_host, tmp_path, qemu_dir,  # noqa: F811
        test_interface, test_subnet):  # noqa: F811
    settings.PORTAL_URL = live_server.url  # the agent fetches images from here and uploads new ones here
    client = admin_client
    cluster, zone_uuid = kvm_host.cluster, str(kvm_host.cluster.zone.uuid)
    l2, vms = None, []
    try:
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "store", "type": "ImageStore",
                                                        "url": str(tmp_path / "store")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": zone_uuid}, format="json"))
        blank = make_qcow2(tmp_path / "blank.qcow2", "64M")
        image, _ = run(client, "post", "/api/v1/images/", {"name": "blank", "url": f"file://{blank}",
                                                          "backup_storage_uuids": [bs["uuid"]], "platform": "Linux"})
        ps = ok(client.post("/api/v1/primary-storage/", {"name": "local", "type": "LocalStorage",
                                                         "url": str(qemu_dir / "ps"), "zone_uuid": zone_uuid},
                            format="json"))
        run(client, "post", f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)})
        l2 = create_l2(client, kvm_host.cluster.zone, interface=test_interface)
        run(client, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)})
        l3 = create_l3(client, l2["uuid"], dhcp=False,
                       ranges=[(f"{test_subnet}.10", f"{test_subnet}.20", "255.255.255.0", f"{test_subnet}.1")])
        offering = ok(client.post("/api/v1/instance-offerings/", {"name": "tiny", "cpu_num": 1,
                                                                  "memory_size": 64 * MIB}, format="json"))
        created, _ = run(client, "post", "/api/v1/vm-instances/", {
            "name": "src", "instance_offering_uuid": offering["uuid"], "image_uuid": image["resource"]["uuid"],
            "l3_network_uuids": [l3["uuid"]], "start": False})
        source = created["resource"]["uuid"]
        vms.append(source)
        source_vm = client.get(f"/api/v1/vm-instances/{source}/").json()
        source_disk = client.get(f"/api/v1/volumes/{source_vm['root_volume_uuid']}/").json()["install_path"]
        code, out = qemu_io(source_disk, f"write -P {PATTERN} 0 64k")
        assert code == 0, out

        # clone (stopped source): a flattened copy with the data, started on the host
        answer, job = run(client, "post", f"/api/v1/vm-instances/{source}/clone/", {"names": ["copy"]})
        copy = answer["resource"]["uuid"]
        vms.append(copy)
        assert domain_state(copy) == libvirt.VIR_DOMAIN_RUNNING
        copy_vm = client.get(f"/api/v1/vm-instances/{copy}/").json()
        copy_disk = client.get(f"/api/v1/volumes/{copy_vm['root_volume_uuid']}/").json()["install_path"]
        info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", copy_disk], check=True,
                                         capture_output=True, text=True).stdout)
        assert "backing-filename" not in info and info["virtual-size"] == 64 * MIB
        assert holds_pattern(copy_disk, PATTERN, shared=True)
        assert copy_vm["nics"][0]["ip"] != source_vm["nics"][0]["ip"]

        # an image of the source's root volume: Ready in the backup storage, with the data
        made, _ = run(client, "post", f"/api/v1/volumes/{source_vm['root_volume_uuid']}/create-image/",
                      {"name": "golden"})
        golden = client.get(f"/api/v1/images/{made['resource']['uuid']}/").json()
        assert golden["status"] == "Ready" and golden["format"] == "qcow2" and golden["size"] == 64 * MIB
        blob = tmp_path / "store" / "images" / golden["sha256"][:2] / golden["sha256"]
        assert holds_pattern(str(blob), PATTERN)
        assert not list((tmp_path / "store" / "tmp").iterdir())

        # live clone of the running source: copied from a temporary snapshot, which then goes
        run(client, "post", f"/api/v1/vm-instances/{source}/start/")
        answer, job = run(client, "post", f"/api/v1/vm-instances/{source}/clone/", {"names": ["live-copy"]})
        live_copy = answer["resource"]["uuid"]
        vms.append(live_copy)
        assert "TakeLiveSnapshots" in [s["name"] for s in job["steps"]]
        assert domain_state(source) == libvirt.VIR_DOMAIN_RUNNING == domain_state(live_copy)
        live_vm = client.get(f"/api/v1/vm-instances/{live_copy}/").json()
        live_disk = client.get(f"/api/v1/volumes/{live_vm['root_volume_uuid']}/").json()["install_path"]
        assert holds_pattern(live_disk, PATTERN, shared=True)
        assert client.get(f"/api/v1/volumes/{source_vm['root_volume_uuid']}/").json()["install_path"] == source_disk
        assert source_disk in domain_xml(source)   # the running source is back on its own file
        assert client.get("/api/v1/volume-snapshots/").json()["count"] == 0

        # reinit the clone: back to the blank image (zeros), an overlay on the image cache again
        run(client, "post", f"/api/v1/vm-instances/{copy}/power-off/")
        run(client, "post", f"/api/v1/vm-instances/{copy}/reinit/")
        assert holds_pattern(copy_disk, "0")
        info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", copy_disk], check=True,
                                         capture_output=True, text=True).stdout)
        assert info["backing-filename"].startswith(str(qemu_dir / "ps" / "imagecache"))
        run(client, "post", f"/api/v1/vm-instances/{copy}/start/")
        assert domain_state(copy) == libvirt.VIR_DOMAIN_RUNNING
    finally:
        for uuid in vms:
            remove_domain(uuid)
        if l2 is not None:
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")

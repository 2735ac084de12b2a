"""Nothing of an expunged VM stays on a real host: no libvirt domain (listAllDomains, what
`virsh list --all` shows) and no directory of its root volume, for a VM created with "start": false
and for one powered off, on the real libvirt agent and QEMU."""
import pytest

from tests.infra.conftest import needs_libvirtd
from tests.compute.test_vm_kvm import ok, qemu_dir, run  # noqa: F401  (qemu_dir: a fixture)
from tests.hostagent.conftest import remove_domain
from tests.network.conftest import (create_l2, create_l3, kvm_host, libvirt_agent,  # noqa: F401  (fixtures)
                                    test_interface, test_subnet, zone)
from tests.storage.conftest import make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = [pytest.mark.libvirt, needs_libvirtd]
MIB = 1 << 20


def defined_domains():
    """The uuids of every domain libvirt has, running or not (`virsh list --all`)."""
    conn = libvirt.open("qemu:///system")
    try:
        return {dom.UUIDString() for dom in conn.listAllDomains(0)}
    finally:
        conn.close()


def test_expunging_a_stopped_vm_leaves_no_domain_and_no_volume_directory(
        transactional_db, admin_client, live_server, settings, kvm_host, tmp_path, qemu_dir,  # noqa: F811
        test_interface, test_subnet):  # noqa: F811
    settings.PORTAL_URL = live_server.url  # the agent fetches the image from here
    client = admin_client
    cluster, zone_uuid = kvm_host.cluster, str(kvm_host.cluster.zone.uuid)
    l2, vms = None, []
    try:
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "store", "type": "ImageStore",
                                                        "url": str(tmp_path / "store")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": zone_uuid}, format="json"))
        source = make_qcow2(tmp_path / "blank.qcow2", "64M")
        image, _ = run(client, "post", "/api/v1/images/", {"name": "blank", "url": f"file://{source}",
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
        body = {"instance_offering_uuid": offering["uuid"], "image_uuid": image["resource"]["uuid"],
                "l3_network_uuids": [l3["uuid"]]}

        created_stopped, _ = run(client, "post", "/api/v1/vm-instances/", {**body, "name": "cold", "start": False})
        powered_off, _ = run(client, "post", "/api/v1/vm-instances/", {**body, "name": "warm"})
        cold, warm = created_stopped["resource"]["uuid"], powered_off["resource"]["uuid"]
        vms += [cold, warm]
        run(client, "post", f"/api/v1/vm-instances/{warm}/power-off/")
        assert {cold, warm} <= defined_domains()
        volume_dirs = set()
        for uuid in (cold, warm):
            vm = client.get(f"/api/v1/vm-instances/{uuid}/").json()
            assert vm["state"] == "Stopped" and vm["host_uuid"] is None
            path = client.get(f"/api/v1/volumes/{vm['root_volume_uuid']}/").json()["install_path"]
            volume_dirs.add(path.rsplit("/", 1)[0])

            run(client, "delete", f"/api/v1/vm-instances/{uuid}/")
            assert uuid not in defined_domains()  # the destroy undefined it on its last host
            run(client, "post", f"/api/v1/vm-instances/{uuid}/expunge/")
            assert client.get(f"/api/v1/vm-instances/{uuid}/").status_code == 404

        assert not {cold, warm} & defined_domains()
        root_volumes = qemu_dir / "ps" / "rootVolumes"
        assert {str(p) for p in root_volumes.iterdir()} == set(), volume_dirs
    finally:
        for uuid in vms:  # whatever a failure left on this machine's libvirtd
            remove_domain(uuid)
        if l2 is not None:
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")

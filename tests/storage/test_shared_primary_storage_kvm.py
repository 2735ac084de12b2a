"""Shared primary storage on the real libvirt agent and QEMU: a SharedMountPoint (here a local
directory standing for the cluster filesystem every host mounts) holds a running VM's root volume
and its image cache; expunging the VM leaves the storage as it was (files and capacity)."""
import os

import pytest

from apps.storage.models import ImageCache, PrimaryStorage
from tests.compute.test_vm_kvm import ok, qemu_dir, run  # noqa: F401  (qemu_dir: a fixture)
from tests.hostagent.conftest import remove_domain
from tests.infra.conftest import needs_libvirtd
from tests.network.conftest import (create_l2, create_l3, kvm_host, libvirt_agent,  # noqa: F401  (fixtures)
                                    test_interface, test_subnet, zone)
from tests.storage.conftest import make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = [pytest.mark.libvirt, needs_libvirtd]
MIB = 1 << 20


def domain_disks(uuid):
    conn = libvirt.open("qemu:///system")
    try:
        xml = conn.lookupByUUIDString(uuid).XMLDesc(0)
    finally:
        conn.close()
    import xml.etree.ElementTree as ET

    return [d.find("source").get("file") for d in ET.fromstring(xml).findall("./devices/disk")
            if d.find("source") is not None]


def test_a_vm_runs_on_qemu_with_its_root_volume_and_image_cache_on_a_shared_mount_point(
        transactional_db, admin_client, live_server, settings, kvm_host, tmp_path, qemu_dir,  # noqa: F811
        test_interface, test_subnet):  # noqa: F811
    settings.PORTAL_URL = live_server.url  # the agent fetches the image from here
    client = admin_client
    cluster, zone_uuid = kvm_host.cluster, str(kvm_host.cluster.zone.uuid)
    mount = qemu_dir / "smp"
    mount.mkdir(mode=0o755)
    l2, vm_uuid = None, None
    try:
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "store", "type": "ImageStore",
                                                        "url": str(tmp_path / "store")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": zone_uuid}, format="json"))
        source = make_qcow2(tmp_path / "blank.qcow2", "32M")
        image, _ = run(client, "post", "/api/v1/images/", {"name": "blank", "url": f"file://{source}",
                                                          "backup_storage_uuids": [bs["uuid"]], "platform": "Linux"})
        ps = ok(client.post("/api/v1/primary-storage/", {"name": "smp", "type": "SharedMountPoint",
                                                         "url": str(mount), "zone_uuid": zone_uuid}, format="json"))
        run(client, "post", f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)})
        ps = client.get(f"/api/v1/primary-storage/{ps['uuid']}/").json()
        st = os.statvfs(mount)
        assert ps["total_capacity"] == st.f_blocks * st.f_frsize and ps["used_capacity"] == 0
        l2 = create_l2(client, kvm_host.cluster.zone, interface=test_interface)
        run(client, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)})
        l3 = create_l3(client, l2["uuid"], dhcp=False,
                       ranges=[(f"{test_subnet}.10", f"{test_subnet}.20", "255.255.255.0", f"{test_subnet}.1")])
        offering = ok(client.post("/api/v1/instance-offerings/", {"name": "tiny", "cpu_num": 1,
                                                                  "memory_size": 64 * MIB}, format="json"))
        created, _ = run(client, "post", "/api/v1/vm-instances/", {
            "name": "on-smp", "instance_offering_uuid": offering["uuid"], "image_uuid": image["resource"]["uuid"],
            "l3_network_uuids": [l3["uuid"]], "primary_storage_type": "SharedMountPoint"})
        vm_uuid = created["resource"]["uuid"]
        vm = client.get(f"/api/v1/vm-instances/{vm_uuid}/").json()
        assert vm["state"] == "Running"
        root = client.get(f"/api/v1/volumes/{vm['root_volume_uuid']}/").json()
        assert root["primary_storage_uuid"] == ps["uuid"] and root["install_path"].startswith(f"{mount}/rootVolumes/")
        assert domain_disks(vm_uuid) == [root["install_path"]]
        [cache] = ImageCache.objects.filter(primary_storage__uuid=ps["uuid"])
        assert cache.host is None and os.path.exists(cache.install_path)
        assert cache.install_path.startswith(f"{mount}/imagecache/")
        info = ok(client.get(f"/api/v1/volumes/{vm['root_volume_uuid']}/"))
        assert info["size"] >= 32 * MIB
        assert PrimaryStorage.objects.get(uuid=ps["uuid"]).used_capacity == root["size"] + cache.actual_size

        run(client, "delete", f"/api/v1/vm-instances/{vm_uuid}/")
        run(client, "post", f"/api/v1/vm-instances/{vm_uuid}/expunge/")
        assert not os.listdir(mount / "rootVolumes") and not os.listdir(mount / "imagecache")
        assert PrimaryStorage.objects.get(uuid=ps["uuid"]).used_capacity == 0
        assert not ImageCache.objects.filter(primary_storage__uuid=ps["uuid"]).exists()
    finally:
        if vm_uuid:
            remove_domain(vm_uuid)
        if l2 is not None:
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")

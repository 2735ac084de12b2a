"""Shared primary storage on the real libvirt agent and QEMU: a SharedMountPoint (here a local
directory standing for the cluster filesystem every host mounts) holds a running VM's root volume
and its image cache; expunging the VM leaves the storage as it was (files and capacity). NFS
against a real server (nfs-ganesha): mounted where the kernel can, else the exact failure."""
import os
import subprocess

import pytest

from apps.infra import agent
from apps.storage.models import ImageCache, PrimaryStorage
from tests.compute.test_vm_kvm import ok, qemu_dir, run  # noqa: F401  (qemu_dir: a fixture)
from tests.hostagent.conftest import remove_domain
from tests.infra.conftest import needs_libvirtd
from tests.network.conftest import (create_l2, create_l3, kvm_host, libvirt_agent,  # noqa: F401  (fixtures)
                                    test_interface, test_subnet, zone)
from tests.storage.conftest import make_qcow2
from tests.storage.nfs_server import kernel_nfs_client, nfs_server  # noqa: F401  (fixture)

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


def test_nfs_with_the_real_agent_mounts_the_export_or_fails_the_attach_saying_why_and_leaving_nothing(
        transactional_db, admin_client, kvm_host, nfs_server, qemu_dir):  # noqa: F811
    """Against a real NFS server (nfs-ganesha). Where the kernel has no NFS client (this container:
    mount.nfs answers "No such device") the attach fails with that message and leaves nothing;
    where it has one, the export is mounted, files written there are on the server, and detach
    unmounts it."""
    client = admin_client
    ok(client.patch("/api/v1/global-configs/primaryStorage/nfs.mountRoot/", {"value": str(qemu_dir / "nfs")},
                    format="json"))
    ps = ok(client.post("/api/v1/primary-storage/", {"name": "nfs", "type": "NFS", "url": nfs_server.url,
                                                     "zone_uuid": str(kvm_host.cluster.zone.uuid)}, format="json"))
    ok(client.put(f"/api/v1/global-configs/primaryStorage/nfs.mountOptions/resources/{ps['uuid']}/",
                  {"value": nfs_server.mount_options}, format="json"))
    mount_path = ps["mount_path"]
    assert mount_path == f"{qemu_dir}/nfs/{ps['uuid'].replace('-', '')}"
    response = client.post(f"/api/v1/primary-storage/{ps['uuid']}/attach/",
                           {"cluster_uuid": str(kvm_host.cluster.uuid)}, format="json")
    assert response.status_code == 202, response.content
    job = client.get(response["Location"]).json()
    row = PrimaryStorage.objects.get(uuid=ps["uuid"])
    if not kernel_nfs_client():
        assert job["state"] == "failed", job
        assert job["error"]["code"] == "NFS_MOUNT_FAILED", job["error"]
        assert "mount.nfs: No such device" in job["error"]["message"], job["error"]
        assert not row.clusters.exists() and row.total_capacity == 0
        assert not os.path.exists(mount_path)   # the agent removed the mount point it made
        # the server is real and serves the export: a userspace NFS client sees a file put there
        open(os.path.join(nfs_server.export, "probe"), "w").close()
        assert nfs_server.listing() in (None, ["probe"])
        return
    try:
        assert job["state"] == "succeeded", job
        mounts = agent.call(kvm_host, "/v1/storage/mounts")["mounts"]
        assert [m["mount_point"] for m in mounts if m["mount_point"] == mount_path] == [mount_path]
        assert row.total_capacity > 0
        open(os.path.join(mount_path, "probe"), "w").close()
        assert os.path.exists(os.path.join(nfs_server.export, "probe"))
        job = run(client, "post", f"/api/v1/primary-storage/{ps['uuid']}/detach/",
                  {"cluster_uuid": str(kvm_host.cluster.uuid)})[1]
        assert not os.path.exists(mount_path)
    finally:
        if os.path.ismount(mount_path):
            subprocess.run(["umount", "-l", mount_path], check=False)


def test_a_shared_mount_point_missing_on_a_host_fails_the_attach_and_leaves_nothing(
        transactional_db, admin_client, kvm_host, qemu_dir):  # noqa: F811
    missing = qemu_dir / "not-mounted"
    ps = ok(admin_client.post("/api/v1/primary-storage/", {"name": "smp", "type": "SharedMountPoint",
                                                           "url": str(missing),
                                                           "zone_uuid": str(kvm_host.cluster.zone.uuid)},
                              format="json"))
    response = admin_client.post(f"/api/v1/primary-storage/{ps['uuid']}/attach/",
                                 {"cluster_uuid": str(kvm_host.cluster.uuid)}, format="json")
    job = admin_client.get(response["Location"]).json()
    assert job["state"] == "failed" and job["error"]["code"] == "MOUNT_POINT_MISSING", job
    assert str(missing) in job["error"]["message"] and "Traceback" not in job["error"]["message"]
    assert not PrimaryStorage.objects.get(uuid=ps["uuid"]).clusters.exists() and not missing.exists()

"""Guest setup through the API on the real libvirt agent and QEMU: a VM installed from an ISO with
cloud-init settings runs with the ISO in its drive (from the host's image cache), its config
drive (read back: hostname and SSH key), boot order cdrom then hd, qxl video and the guest agent
channel; its vCPUs grow live; the ISO is ejected live; a password change fails clearly without a
guest agent; the expunge leaves neither domain nor config drive."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hostagent.backends.config_drive import build_iso, read_iso
from tests.compute.test_vm_kvm import ok, qemu_dir, run  # noqa: F401  (qemu_dir: a fixture)
from tests.hostagent.conftest import remove_domain
from tests.infra.conftest import needs_libvirtd
from tests.network.conftest import (create_l2, create_l3, kvm_host, libvirt_agent,  # noqa: F401  (fixtures)
                                    test_interface, test_subnet, zone)

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = [pytest.mark.libvirt, needs_libvirtd]
MIB = 1 << 20
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvmQemu tester@example"


def live_xml(uuid):
    conn = libvirt.open("qemu:///system")
    try:
        dom = conn.lookupByUUIDString(uuid)
        return ET.fromstring(dom.XMLDesc(0)), dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE)
    finally:
        conn.close()


def test_an_iso_install_with_cloud_init_on_real_qemu(transactional_db, admin_client, live_server, settings,  # noqa: F811
                                                     kvm_host, tmp_path, qemu_dir, test_interface,  # noqa: F811
                                                     test_subnet):  # noqa: F811
    settings.PORTAL_URL = live_server.url  # the agent fetches the ISO from here
    client = admin_client
    cluster, zone_uuid = kvm_host.cluster, str(kvm_host.cluster.zone.uuid)
    l2, uuid = None, None
    try:
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "store", "type": "ImageStore",
                                                        "url": str(tmp_path / "store")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": zone_uuid}, format="json"))
        source = tmp_path / "installer.iso"
        source.write_bytes(build_iso({"user_data": b"an installer", "meta_data": b"{}"}))
        image, _ = run(client, "post", "/api/v1/images/", {"name": "installer", "url": f"file://{source}",
                                                          "backup_storage_uuids": [bs["uuid"]], "platform": "Linux"})
        ps = ok(client.post("/api/v1/primary-storage/", {"name": "local", "type": "LocalStorage",
                                                         "url": str(qemu_dir / "ps"), "zone_uuid": zone_uuid},
                            format="json"))
        run(client, "post", f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)})
        l2 = create_l2(client, kvm_host.cluster.zone, interface=test_interface)
        run(client, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)})
        l3 = create_l3(client, l2["uuid"], dhcp=False,
                       ranges=[(f"{test_subnet}.10", f"{test_subnet}.20", "255.255.255.0", f"{test_subnet}.1")])
        created, _ = run(client, "post", "/api/v1/vm-instances/", {
            "name": "installed", "cpu_num": 1, "cpu_max": 2, "memory_size": 64 * MIB, "memory_max": 128 * MIB,
            "image_uuid": image["resource"]["uuid"], "root_disk_size": 32 * MIB, "l3_network_uuids": [l3["uuid"]],
            "hostname": "iso-1", "ssh_keys": [KEY], "video_type": "qxl", "guest_agent": True})
        uuid = created["resource"]["uuid"]

        root, vcpus = live_xml(uuid)
        drives = {d.find("target").get("dev"): d for d in root.findall("./devices/disk[@device='cdrom']")}
        iso = drives["sdf"].find("source").get("file")
        assert "/imagecache/" in iso and Path(iso).read_bytes() == source.read_bytes()
        drive = read_iso(drives["sde"].find("source").get("file"))
        assert drive["label"] == "cidata" and KEY.encode() in drive["files"]["meta-data"]
        assert b'"local-hostname": "iso-1"' in drive["files"]["meta-data"]
        assert [b.get("dev") for b in root.findall("./os/boot")] == ["cdrom", "hd"]
        assert root.find("./devices/video/model").get("type") == "qxl"
        assert root.find("./devices/channel/target[@name='org.qemu.guest_agent.0']") is not None
        assert vcpus == 1 and root.find("vcpu").text == "2"

        run(client, "post", f"/api/v1/vm-instances/{uuid}/set-cpu-memory/", {"cpu_num": 2})
        assert live_xml(uuid)[1] == 2
        run(client, "post", f"/api/v1/vm-instances/{uuid}/detach-iso/")
        source_left = live_xml(uuid)[0].find("./devices/disk[@device='cdrom']/target[@dev='sdf']/../source")
        assert source_left is None or source_left.get("file") is None
        response = client.post(f"/api/v1/vm-instances/{uuid}/change-password/", {"password": "Pw-123456"},
                               format="json")
        job = client.get(response["Location"]).json()
        assert job["state"] == "failed" and job["error"]["code"] == "GUEST_AGENT_UNAVAILABLE", job["error"]

        config_drive = drives["sde"].find("source").get("file")
        run(client, "delete", f"/api/v1/vm-instances/{uuid}/")
        run(client, "post", f"/api/v1/vm-instances/{uuid}/expunge/")
        assert not Path(config_drive).exists()
    finally:
        if uuid is not None:
            remove_domain(uuid)
        if l2 is not None:
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")

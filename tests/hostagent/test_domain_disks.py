"""The ``disks`` of /v1/vm/define (hostagent/backends/disks.py): validation, and a real domain
defined with a virtio data disk, a SCSI disk with a WWN and an empty CD-ROM."""
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hostagent.backends.base import validate_define
from hostagent.errors import AgentFailure

from .conftest import libvirtd_running, remove_domain, start_libvirt_agent

BASE = {"vm_uuid": str(uuid.uuid4()), "cpu_num": 1, "memory_size": 64 << 20}


def test_disk_path_alone_is_the_first_virtio_disk_as_before():
    spec = validate_define(dict(BASE, disk_path="/v/root.qcow2"))
    assert spec["disks"] == [{"path": "/v/root.qcow2", "format": "qcow2", "device": "disk", "bus": "virtio",
                              "readonly": False, "target": "vda"}]


def test_targets_follow_each_bus_in_list_order_and_explicit_ones_are_kept():
    spec = validate_define(dict(BASE, disk_path="/v/root.qcow2", disks=[
        {"path": "/v/d1.qcow2", "serial": "d1"}, {"path": "/v/d2.raw", "bus": "scsi", "wwn": "5000C50015EA71AC"},
        {"device": "cdrom"}, {"path": "/v/d3.qcow2", "target": "vdf"}]))
    assert [(d["target"], d["bus"], d["device"]) for d in spec["disks"]] == [
        ("vda", "virtio", "disk"), ("vdb", "virtio", "disk"), ("sda", "scsi", "disk"), ("sdb", "sata", "cdrom"),
        ("vdf", "virtio", "disk")]
    assert spec["disks"][2]["wwn"] == "5000c50015ea71ac" and spec["disks"][2]["format"] == "raw"
    assert spec["disks"][3]["path"] is None and spec["disks"][3]["readonly"] is True


@pytest.mark.parametrize("disks, message", [
    ("x", "disks must be a list"),
    ([{"path": "relative"}], "disks[0].path must be an absolute path"),
    ([{"path": "/a/../etc/shadow"}], "disks[0].path must be an absolute path"),
    ([{"path": "/a", "bus": "usb"}], "disks[0].bus must be one of virtio, scsi, sata, ide"),
    ([{"device": "cdrom", "bus": "virtio"}], "a CD-ROM needs the sata, scsi or ide bus"),
    ([{"path": "/a", "wwn": "123"}], "disks[0].wwn must be 16 hex digits"),
    ([{"path": "/a", "wwn": "5000c50015ea71ac"}], "disks[0].wwn must be 16 hex digits, on a scsi"),
    ([{"path": "/a", "serial": "has space"}], "disks[0].serial must be"),
    ([{"path": "/a", "target": "sda"}], "disks[0].target must be a device name of its bus"),
    ([{"path": "/a", "target": "vdb"}, {"path": "/b", "target": "vdb"}], "two disks have the same target"),
])
def test_bad_disks_are_refused_with_the_field(disks, message):
    with pytest.raises(AgentFailure) as refused:
        validate_define(dict(BASE, disks=disks))
    assert refused.value.status == 400 and refused.value.details == {"field": "disks"}
    assert message in refused.value.message


@pytest.mark.libvirt
def test_a_real_domain_gets_every_disk_with_its_serial_wwn_and_bus(tmp_path):
    pytest.importorskip("libvirt", reason="libvirt-python is not installed")
    if not libvirtd_running():
        pytest.skip("libvirtd is not running")
    work = Path(tempfile.mkdtemp(prefix="cp-disks-"))   # QEMU runs as its own user: not in pytest's root-only dirs
    work.chmod(0o755)
    root, data, scsi = (work / "root.qcow2", work / "data.qcow2", work / "scsi.raw")
    for path, fmt in ((root, "qcow2"), (data, "qcow2"), (scsi, "raw")):
        subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), "16M"], check=True)
    (tmp_path / "agent").mkdir()
    agent = start_libvirt_agent(tmp_path / "agent")
    vm_uuid = str(uuid.uuid4())
    try:
        agent.client.call("/v1/vm/define", {
            "vm_uuid": vm_uuid, "cpu_num": 1, "memory_size": 64 << 20, "vnc": False, "start": True,
            "disk_path": str(root), "disks": [
                {"path": str(data), "serial": "cp-data-1"},
                {"path": str(scsi), "bus": "scsi", "wwn": "5000c50015ea71ac"},
                {"device": "cdrom"}]})
        import libvirt

        conn = libvirt.open("qemu:///system")
        try:
            dom = conn.lookupByUUIDString(vm_uuid)
            assert dom.isActive()
            live = ET.fromstring(dom.XMLDesc(0))
        finally:
            conn.close()
        disks = {d.find("target").get("dev"): d for d in live.findall("./devices/disk")}
        assert sorted(disks) == ["sda", "sdb", "vda", "vdb"]
        assert disks["vdb"].find("source").get("file") == str(data) and disks["vdb"].findtext("serial") == "cp-data-1"
        assert disks["sda"].find("target").get("bus") == "scsi" and disks["sda"].findtext("wwn") == "5000c50015ea71ac"
        assert disks["sdb"].get("device") == "cdrom" and disks["sdb"].find("source") is None
        assert live.find("./devices/controller[@type='scsi']").get("model") == "virtio-scsi"
    finally:
        remove_domain(vm_uuid)
        agent.stop()
        shutil.rmtree(work, ignore_errors=True)

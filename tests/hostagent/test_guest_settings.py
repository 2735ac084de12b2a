"""Guest settings on a real QEMU domain through the real agent (hostagent/backends/guest_parts.py,
guest_ops.py, config_drive.py): one running domain for the module, each change read back from
libvirt's XML (live, and the persistent definition where a change waits for the next boot)."""
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hostagent.backends.base import validate_define
from hostagent.backends.config_drive import read_iso
from hostagent.client import AgentError
from hostagent.errors import AgentFailure

from .conftest import remove_domain, start_libvirt_agent

MAC = "fa:16:3e:00:19:06"


def _tc_qos_available():
    """Whether this kernel has what libvirt's NIC bandwidth uses on a tap (htb + sfq for inbound, an
    ingress policer for outbound). The test bed's kernel has neither sfq nor act_police (tc: "Specified
    qdisc kind is unknown", "Failed to load TC action module"): a running domain with <bandwidth>
    does not start there, so the live NIC checks run only where the kernel allows them."""
    name = f"cpq{uuid.uuid4().hex[:8]}"
    if subprocess.run(["ip", "link", "add", name, "type", "bridge"], capture_output=True).returncode:
        return False
    try:
        steps = (["tc", "qdisc", "add", "dev", name, "root", "handle", "1:", "htb"],
                 ["tc", "qdisc", "add", "dev", name, "parent", "1:", "handle", "2:", "sfq"],
                 ["tc", "qdisc", "add", "dev", name, "ingress"],
                 ["tc", "filter", "add", "dev", name, "parent", "ffff:", "protocol", "all", "u32", "match", "u32",
                  "0", "0", "police", "rate", "1mbit", "burst", "64kb", "drop", "flowid", ":1"])
        return all(subprocess.run(step, capture_output=True).returncode == 0 for step in steps)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


TC_QOS = _tc_qos_available()


def test_define_validates_guest_settings():
    base = {"vm_uuid": str(uuid.uuid4()), "cpu_num": 2, "memory_size": 64 << 20, "disk_path": "/v/root.qcow2"}
    spec = validate_define(dict(base, video="qxl", guest_agent=True, cpu_max=4, memory_max=128 << 20,
                                iotune={"/v/root.qcow2": {"total_iops_sec": 100}}))
    assert (spec["video"], spec["guest_agent"], spec["cpu_max"], spec["memory_max"]) == ("qxl", True, 4, 128 << 20)
    from hostagent.backends.domain_parts import devices
    devices(spec)
    assert spec["disks"][0]["extra_xml"] == ["<iotune><total_iops_sec>100</total_iops_sec></iotune>"]
    for bad, field in ((dict(video="svga"), "video"), (dict(cpu_max=1), "cpu_max"),
                       (dict(memory_max=1 << 20), "memory_max"), (dict(guest_agent="yes"), "guest_agent"),
                       (dict(iotune={"/v/other.qcow2": {"total_iops_sec": 1}}), "iotune"),
                       (dict(iotune={"/v/root.qcow2": {"iops": 1}}), "iotune"),
                       (dict(nic_bandwidth={MAC: {"inbound": 1}}), "nic_bandwidth")):
        with pytest.raises(AgentFailure) as refused:
            validate_define(dict(base, **bad))
        assert refused.value.status == 400 and refused.value.details["field"] == field


@pytest.fixture(scope="module")
def domain(tmp_path_factory):
    """A running domain: root disk, an empty SATA CD-ROM, a NIC on a bridge of its own, qxl video,
    the guest agent channel, 1 of 2 vCPUs and 64 of 128 MiB; the agent and a work directory."""
    import libvirt

    agent = start_libvirt_agent(tmp_path_factory.mktemp("agent"))
    work = Path(tempfile.mkdtemp(prefix="cp-guest-"))
    work.chmod(0o755)
    root = work / "root.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(root), "16M"], check=True)
    bridge = f"cpg{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    vm_uuid = str(uuid.uuid4())
    conn = libvirt.open("qemu:///system")
    try:
        agent.client.call("/v1/vm/define", {
            "vm_uuid": vm_uuid, "cpu_num": 1, "cpu_max": 2, "memory_size": 64 << 20, "memory_max": 128 << 20,
            "vnc": True, "video": "qxl", "guest_agent": True, "boot": ["cdrom", "hd"], "start": True,
            "disk_path": str(root), "disks": [{"device": "cdrom", "bus": "sata"}],
            "nics": [{"mac": MAC, "bridge": bridge}],
            "iotune": {str(root): {"total_iops_sec": 100}},
            **({"nic_bandwidth": {MAC: {"inbound": 1 << 20, "outbound": 512 << 10}}} if TC_QOS else {})})
        yield {"agent": agent, "uuid": vm_uuid, "work": work, "root": root, "dom": conn.lookupByUUIDString(vm_uuid)}
    finally:
        remove_domain(vm_uuid)
        conn.close()
        agent.stop()
        subprocess.run(["ip", "link", "del", bridge], check=False)
        shutil.rmtree(work, ignore_errors=True)


def _xml(dom, inactive=False):
    import libvirt

    return ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0))


def test_the_define_carries_video_channel_boot_order_maximums_and_qos(domain):
    live = _xml(domain["dom"])
    assert live.find("./devices/video/model").get("type") == "qxl"
    channel = live.find("./devices/channel/target[@name='org.qemu.guest_agent.0']")
    assert channel is not None and channel.get("type") == "virtio"
    assert [b.get("dev") for b in live.findall("./os/boot")] == ["cdrom", "hd"]
    assert live.find("vcpu").text == "2" and live.find("vcpu").get("current") == "1"
    assert int(live.find("memory").text) == 128 << 10
    assert live.findtext("./devices/disk[@device='disk']/iotune/total_iops_sec") == "100"
    if TC_QOS:
        bandwidth = live.find("./devices/interface/bandwidth")
        assert bandwidth.find("inbound").get("average") == "1024" and bandwidth.find("outbound").get("average") == "512"


def test_a_config_drive_is_built_read_back_and_inserted_live(domain):
    agent, path = domain["agent"], domain["work"] / "configDrives" / "cidata.iso"
    made = agent.client.call("/v1/vm/config-drive", {
        "path": str(path), "user_data": "#cloud-config\npassword: x\n",
        "meta_data": {"instance-id": domain["uuid"], "local-hostname": "web-1", "public-keys": ["ssh-ed25519 AAA k"]}})
    assert made["size"] == path.stat().st_size
    drive = read_iso(str(path))
    assert drive["label"] == "cidata"
    assert drive["files"]["user-data"] == b"#cloud-config\npassword: x\n"
    assert b'"local-hostname": "web-1"' in drive["files"]["meta-data"]
    assert "network-config" not in drive["files"]
    changed = agent.client.call("/v1/vm/cdrom", {"vm_uuid": domain["uuid"], "target": "sda", "path": str(path)})
    assert changed["live"] is True
    for inactive in (False, True):
        cdrom = _xml(domain["dom"], inactive).find("./devices/disk[@device='cdrom']")
        assert cdrom.find("source").get("file") == str(path)
    agent.client.call("/v1/vm/cdrom", {"vm_uuid": domain["uuid"], "target": "sda", "path": None})   # eject
    for inactive in (False, True):   # live XML keeps an empty <source index=.../> for the tray
        source = _xml(domain["dom"], inactive).find("./devices/disk[@device='cdrom']/source")
        assert source is None or source.get("file") is None
    agent.client.call("/v1/volume/delete", {"path": str(path)})
    assert not path.exists()


def test_vcpus_are_hot_plugged_and_the_balloon_target_set_within_the_maximums(domain):
    import libvirt

    dom = domain["dom"]
    answer = domain["agent"].client.call("/v1/vm/cpu-memory", {"vm_uuid": domain["uuid"], "cpu_num": 2,
                                                               "memory_size": 96 << 20})
    assert answer["live"] is True
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 2
    assert [v.get("enabled") for v in _xml(dom).findall("./vcpus/vcpu")] == ["yes", "yes"]
    # the persistent definition's currentMemory is the target; the live figure moves only with a
    # guest balloon driver (no guest OS here)
    assert int(_xml(dom, inactive=True).find("currentMemory").text) == 96 << 10
    with pytest.raises(AgentError) as refused:
        domain["agent"].client.call("/v1/vm/cpu-memory", {"vm_uuid": domain["uuid"], "cpu_num": 3})
    assert refused.value.status == 500 and refused.value.code == "LIBVIRT_ERROR"


def test_disk_and_nic_qos_change_live(domain):
    dom = domain["dom"]
    domain["agent"].client.call("/v1/vm/qos", {
        "vm_uuid": domain["uuid"], "iotune": {str(domain["root"]): {"total_iops_sec": 250, "total_bytes_sec": 1 << 20}},
        **({"nic_bandwidth": {MAC: {"inbound": 2 << 20}}} if TC_QOS else {})})
    for inactive in (False, True):
        root = _xml(dom, inactive)
        iotune = root.find("./devices/disk[@device='disk']/iotune")
        assert iotune.findtext("total_iops_sec") == "250" and iotune.findtext("total_bytes_sec") == str(1 << 20)
        if TC_QOS:
            bandwidth = root.find("./devices/interface/bandwidth")
            assert bandwidth.find("inbound").get("average") == "2048" and bandwidth.find("outbound") is None


def test_nic_bandwidth_is_defined_and_changed_on_a_stopped_domain(domain, tmp_path):
    """Where tc cannot apply it live (see _tc_qos_available), the definition still carries it."""
    import libvirt

    vm_uuid = str(uuid.uuid4())
    bridge = _xml(domain["dom"]).find("./devices/interface/source").get("bridge")
    try:
        domain["agent"].client.call("/v1/vm/define", {
            "vm_uuid": vm_uuid, "cpu_num": 1, "memory_size": 64 << 20, "vnc": False, "disk_path": str(domain["root"]),
            "nics": [{"mac": "fa:16:3e:00:19:07", "bridge": bridge}],
            "nic_bandwidth": {"fa:16:3e:00:19:07": {"inbound": 1 << 20, "outbound": 512 << 10}}})
        domain["agent"].client.call("/v1/vm/qos", {"vm_uuid": vm_uuid,
                                                   "nic_bandwidth": {"fa:16:3e:00:19:07": {"inbound": 4 << 20}}})
        conn = libvirt.open("qemu:///system")
        try:
            bandwidth = _xml(conn.lookupByUUIDString(vm_uuid), inactive=True).find("./devices/interface/bandwidth")
        finally:
            conn.close()
        assert bandwidth.find("inbound").get("average") == "4096" and bandwidth.find("outbound") is None
    finally:
        remove_domain(vm_uuid)


def test_password_change_fails_clearly_without_a_guest_agent(domain):
    with pytest.raises(AgentError) as refused:
        domain["agent"].client.call("/v1/vm/password", {"vm_uuid": domain["uuid"], "user": "root",
                                                        "password": "s3cret-pw"})
    assert refused.value.status == 409 and refused.value.code == "GUEST_AGENT_UNAVAILABLE"
    assert "not connected" in refused.value.message and "s3cret-pw" not in refused.value.message

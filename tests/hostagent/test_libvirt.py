"""The libvirt backend against the real libvirtd + QEMU (skipped when either is absent)."""
import os
import socket
import time
import uuid

import pytest

from hostagent.client import AgentError

from .conftest import LIBVIRT_SOCKET, remove_domain, start_libvirt_agent
from .conftest import libvirtd_running as _libvirtd_running
from .test_sim import check_event_post

pytestmark = pytest.mark.libvirt
libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")





if not _libvirtd_running():
    pytest.skip(f"libvirtd is not running ({LIBVIRT_SOCKET} does not answer)", allow_module_level=True)


@pytest.fixture(scope="module")
def libvirt_agent(tmp_path_factory):
    agent = start_libvirt_agent(tmp_path_factory.mktemp("agent"))
    yield agent
    agent.stop()
    assert agent.secret not in agent.log()   # secrets are never logged


@pytest.fixture
def vm_uuid():
    vm = str(uuid.uuid4())
    yield vm
    remove_domain(vm)


def _cpuinfo_model():
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()


def test_facts_match_the_machine(libvirt_agent):
    facts = libvirt_agent.client.call("/v1/host/facts")
    conn = libvirt.open("qemu:///system")
    try:
        arch, memory_mib, cpus, _mhz, nodes, sockets, cores, threads = conn.getInfo()
        assert facts["cpu_model"] == _cpuinfo_model()
        assert facts["cpu_num"] == cpus == os.cpu_count()
        assert (facts["cpu_sockets"], facts["cpu_cores"], facts["cpu_threads"]) == (nodes * sockets, cores, threads)
        assert facts["memory_size"] == memory_mib * 1024 * 1024
        assert facts["hostname"] == conn.getHostname()
        v = conn.getLibVersion()
        assert facts["libvirt_version"] == f"{v // 1000000}.{v // 1000 % 1000}.{v % 1000}"
        assert facts["qemu_version"].count(".") == 2
        assert facts["kvm_available"] == os.path.exists("/dev/kvm")
        assert facts["os"]
    finally:
        conn.close()
    capacity = libvirt_agent.client.call("/v1/host/capacity")
    assert capacity["cpu_num"] == facts["cpu_num"] and 0 < capacity["free_memory"] <= capacity["memory_size"]
    answer = libvirt_agent.client.call("/v1/host/connect", {"portal_url": None})
    assert answer["host_uuid"] == libvirt_agent.host_uuid and answer["facts"]["cpu_num"] == facts["cpu_num"]


def test_domain_lifecycle_vnc_and_event_on_destroy_behind_the_portals_back(libvirt_agent, vm_uuid, event_receiver):
    client = libvirt_agent.client
    client.call("/v1/host/connect", {"portal_url": event_receiver.url})
    spec = {"vm_uuid": vm_uuid, "name": "tiny <test>", "cpu_num": 1, "memory_size": 64 << 20, "vnc": True}
    assert client.call("/v1/vm/define", spec) == {"vm_uuid": vm_uuid, "state": "Stopped"}
    assert client.call("/v1/vm/states")["vms"][vm_uuid] == "Stopped"
    assert client.call("/v1/vm/start", {"vm_uuid": vm_uuid})["state"] == "Running"
    assert client.call("/v1/vm/start", {"vm_uuid": vm_uuid})["state"] == "Running"   # idempotent
    port = client.call("/v1/vm/vnc-port", {"vm_uuid": vm_uuid})["port"]
    assert isinstance(port, int) and port >= 5900
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        assert s.recv(12).startswith(b"RFB ")
    assert client.call("/v1/vm/pause", {"vm_uuid": vm_uuid})["state"] == "Paused"
    assert client.call("/v1/vm/states")["vms"][vm_uuid] == "Paused"
    assert client.call("/v1/vm/resume", {"vm_uuid": vm_uuid})["state"] == "Running"

    # Destroyed through libvirt directly, not through the agent: the agent reports it.
    conn = libvirt.open("qemu:///system")
    try:
        conn.lookupByUUIDString(vm_uuid).destroy()
    finally:
        conn.close()
    item = event_receiver.wait_for(lambda i: vm_uuid.encode() in i["body"] and b"Stopped" in i["body"], timeout=30)
    assert item is not None, libvirt_agent.log()
    check_event_post(item, libvirt_agent.host_uuid, libvirt_agent.secret, vm_uuid, "Stopped")
    # The agent's own start/pause/resume were not reported as outside changes.
    assert not [i for i in event_receiver.received if b"Paused" in i["body"]]
    assert client.call("/v1/vm/states")["vms"][vm_uuid] == "Stopped"

    assert client.call("/v1/vm/start", {"vm_uuid": vm_uuid})["state"] == "Running"
    assert client.call("/v1/vm/destroy", {"vm_uuid": vm_uuid})["state"] == "Stopped"
    assert client.call("/v1/vm/destroy", {"vm_uuid": vm_uuid})["state"] == "Stopped"
    assert client.call("/v1/vm/undefine", {"vm_uuid": vm_uuid})["state"] == "Undefined"
    with pytest.raises(AgentError) as err:
        client.call("/v1/vm/start", {"vm_uuid": vm_uuid})
    assert (err.value.status, err.value.code) == (404, "VM_NOT_FOUND")
    assert vm_uuid not in client.call("/v1/vm/states")["vms"]


def test_blocking_libvirt_calls_do_not_stall_other_requests(libvirt_agent, vm_uuid):
    import threading
    client = libvirt_agent.client
    # defined and started in one call (what a VM create sends)
    spec = {"vm_uuid": vm_uuid, "name": "t", "cpu_num": 1, "memory_size": 64 << 20, "start": True}
    assert client.call("/v1/vm/define", spec) == {"vm_uuid": vm_uuid, "state": "Running"}
    assert client.call("/v1/vm/states")["vms"][vm_uuid] == "Running"
    # A stop of a guest without an OS waits for its timeout; pings answer meanwhile.
    result = {}
    worker = threading.Thread(target=lambda: result.update(
        stop=_catch(lambda: client.call("/v1/vm/stop", {"vm_uuid": vm_uuid, "timeout": 2, "force": True}))))
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    client.call("/v1/host/ping")
    assert time.monotonic() - started < 1.0
    worker.join(30)
    assert result["stop"]["state"] == "Stopped"


def test_reads_and_pings_answer_at_once_while_every_operation_thread_is_busy(libvirt_agent, vm_uuid):
    """A burst fills the operation threads and queues behind them; the state sync's read and a ping
    do not wait for it (reads have threads of their own, a ping needs none)."""
    import threading

    from hostagent.client import AgentClient

    client = libvirt_agent.client
    spec = {"vm_uuid": vm_uuid, "name": "busy", "cpu_num": 1, "memory_size": 64 << 20, "start": True}
    assert client.call("/v1/vm/define", spec)["state"] == "Running"
    # graceful stops of a guest without an OS wait their whole timeout: 24 of them hold all 16
    # operation threads for 4 s, the rest wait in the queue
    results = []
    stops = [threading.Thread(target=lambda: results.append(_catch(lambda: client.call(
        "/v1/vm/stop", {"vm_uuid": vm_uuid, "timeout": 4, "force": True})))) for _ in range(24)]
    for thread in stops:
        thread.start()
    time.sleep(0.5)
    quick = AgentClient(libvirt_agent.url, libvirt_agent.host_uuid, libvirt_agent.secret, timeout=2)
    try:
        for path in ("/v1/host/ping", "/v1/vm/states", "/v1/host/capacity", "/v1/vm/vnc-port"):
            started = time.monotonic()
            quick.call(path, {"vm_uuid": vm_uuid} if path == "/v1/vm/vnc-port" else {})
            assert time.monotonic() - started < 1.5, path
    finally:
        for thread in stops:
            thread.join(60)
    assert [r if isinstance(r, AgentError) else r["state"] for r in results] == ["Stopped"] * 24, results


def test_the_state_sync_is_not_delayed_by_a_burst_of_vm_starts(libvirt_agent):
    """libvirtd serves a few calls of one connection at a time: the reads have a connection of
    their own, so 24 domain starts at once (each up to a second or more here) do not hold them up."""
    import threading

    from hostagent.client import AgentClient

    vms = [str(uuid.uuid4()) for _ in range(24)]
    results = []
    creates = [threading.Thread(target=lambda vm=vm: results.append(_catch(lambda: libvirt_agent.client.call(
        "/v1/vm/define", {"vm_uuid": vm, "name": "burst", "cpu_num": 1, "memory_size": 64 << 20, "start": True}))))
        for vm in vms]
    quick = AgentClient(libvirt_agent.url, libvirt_agent.host_uuid, libvirt_agent.secret, timeout=5)
    try:
        for thread in creates:
            thread.start()
        waits = []
        while any(thread.is_alive() for thread in creates):
            started = time.monotonic()
            quick.call("/v1/vm/states")
            waits.append(time.monotonic() - started)
            time.sleep(0.1)
        for thread in creates:
            thread.join(120)
        assert [r if isinstance(r, AgentError) else r["state"] for r in results] == ["Running"] * 24, results
        assert len(waits) >= 3 and max(waits) < 1.5, waits
    finally:
        for vm in vms:
            remove_domain(vm)


def _catch(fn):
    try:
        return fn()
    except AgentError as exc:
        return exc


def test_define_with_nics_on_a_bridge_and_boot_order(libvirt_agent, vm_uuid, test_bridge):
    import xml.etree.ElementTree as ET

    client = libvirt_agent.client
    spec = {"vm_uuid": vm_uuid, "name": "nic-test", "cpu_num": 1, "memory_size": 64 << 20,
            "nics": [{"mac": "FA:16:3E:00:00:01", "bridge": test_bridge}]}
    for bad in ([{"mac": "nope", "bridge": test_bridge}], [{"mac": "fa:16:3e:00:00:01", "bridge": "x" * 16}],
                [{"mac": "fa:16:3e:00:00:01", "bridge": test_bridge, "model": "ne2k"}], "eth0"):
        with pytest.raises(AgentError) as err:
            client.call("/v1/vm/define", {**spec, "nics": bad})
        assert (err.value.status, err.value.code) == (400, "INVALID_REQUEST")
    assert client.call("/v1/vm/define", spec)["state"] == "Stopped"
    assert client.call("/v1/vm/start", {"vm_uuid": vm_uuid})["state"] == "Running"
    conn = libvirt.open("qemu:///system")
    try:
        root = ET.fromstring(conn.lookupByUUIDString(vm_uuid).XMLDesc())
    finally:
        conn.close()
    nic = root.find("./devices/interface[@type='bridge']")
    assert nic.find("mac").get("address") == "fa:16:3e:00:00:01"
    assert nic.find("source").get("bridge") == test_bridge and nic.find("model").get("type") == "virtio"
    assert [b.get("dev") for b in root.findall("./os/boot")] == ["hd", "network"]
    tap = nic.find("target").get("dev")
    import subprocess

    assert f"master {test_bridge}" in subprocess.run(["ip", "link", "show", tap], capture_output=True,
                                                     text=True).stdout
    client.call("/v1/vm/undefine", {"vm_uuid": vm_uuid})


def test_metrics_name_each_nic_by_its_tap_and_mac_and_leave_the_taps_out_of_the_hosts(libvirt_agent, vm_uuid,
                                                                                      test_bridge):
    import http.client

    from hostagent.signing import metrics_token

    from .test_metrics import series, wait_until

    client = libvirt_agent.client
    mac = "fa:16:3e:00:00:09"
    client.call("/v1/vm/define", {"vm_uuid": vm_uuid, "name": "nic-metrics", "cpu_num": 1, "memory_size": 64 << 20,
                                  "vnc": False, "nics": [{"mac": mac, "bridge": test_bridge}], "start": True})
    assert client.call("/v1/host/connect", {"portal_url": None, "sample_interval": 1})["sample_interval"] == 1

    def scrape():
        conn = http.client.HTTPConnection("127.0.0.1", libvirt_agent.port, timeout=10)
        conn.request("GET", f"/metrics/{libvirt_agent.host_uuid}?token="
                     + metrics_token(libvirt_agent.secret, libvirt_agent.host_uuid))
        return conn.getresponse().read().decode()

    def nic_series():
        return {labels: value for (name, labels), value in series(scrape()).items()
                if name == "cloudportal_vm_network_rx_bytes_total" and ("vm_uuid", vm_uuid) in labels}

    try:
        found = wait_until(nic_series, timeout=30)
        assert found, "the VM's NIC never showed in /metrics"
        [labels] = found
        labels = dict(labels)
        assert labels["mac"] == mac and labels["host_uuid"] == libvirt_agent.host_uuid
        tap = labels["device"]
        host_devices = {dict(labels)["device"] for (name, labels) in series(scrape())
                        if name == "cloudportal_host_network_rx_bytes_total"}
        assert tap not in host_devices and "lo" not in host_devices
        assert test_bridge in host_devices   # the host's own interfaces stay
    finally:
        client.call("/v1/host/ping", {"sample_interval": 10})

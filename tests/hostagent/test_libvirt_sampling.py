"""The libvirt backend's sample of a real QEMU domain: CPU time read from /proc agrees with
libvirtd's, disk figures arrive from the background round, NICs are named by tap and MAC; and
the /proc readers on their own, on files the test writes."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hostagent.backends.qemu_proc import QemuProcesses, tap_counters

from .conftest import LIBVIRT_SOCKET, libvirtd_running, remove_domain

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")


def test_tap_counters_are_the_guests_view(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "dev").write_text(
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n"
        "vnet7:    5000      50    0    0    0     0          0         0     9000      90    0    0    0     0       0          0\n")
    # what the tap received, the guest sent
    assert tap_counters(str(tmp_path))["vnet7"] == (9000, 5000, 90, 50)


def test_a_pid_file_is_trusted_only_for_the_process_it_names(tmp_path):
    pid_dir, proc = tmp_path / "run", tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    pid_dir.mkdir()
    (pid_dir / "cp-a.pid").write_text("4242\n")
    (proc / "4242" / "stat").write_text("4242 (qemu-system-x86) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 3 0\n")
    (proc / "4242" / "cmdline").write_bytes(b"/usr/bin/qemu-system-x86_64\0-name\0guest=cp-b,debug-threads=on\0")
    processes = QemuProcesses(str(pid_dir), str(proc))
    assert processes.cpu_time("cp-a", "a", 1) is None        # pid 4242 runs another domain
    (proc / "4242" / "cmdline").write_bytes(b"/usr/bin/qemu-system-x86_64\0-name\0guest=cp-a,debug-threads=on\0")
    assert processes.cpu_time("cp-a", "a", 1) == 300 * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    (proc / "4242" / "stat").unlink()                         # the process is gone
    assert processes.cpu_time("cp-a", "a", 1) is None


needs_libvirtd = pytest.mark.skipif(not libvirtd_running(), reason=f"libvirtd is not running ({LIBVIRT_SOCKET})")


@pytest.fixture
def backend(tmp_path):
    from hostagent.backends.libvirt_backend import LibvirtBackend

    backend = LibvirtBackend({"host_uuid": str(uuid.uuid4()), "secret": "s", "libvirt_uri": "qemu:///system",
                              "state_dir": str(tmp_path)})
    backend.start(None)
    yield backend
    backend.close()


@pytest.fixture
def running_domain(backend, test_bridge):
    """A domain as the agent defines it: a qcow2 disk, a NIC on a bridge, a balloon. The disk is
    where QEMU (its own user) can read it: pytest's directories are root's alone."""
    vm_uuid = str(uuid.uuid4())
    work = Path(tempfile.mkdtemp(prefix="cp-sampling-"))
    work.chmod(0o755)
    disk = work / "root.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    xml = backend.domain_xml({"vm_uuid": vm_uuid, "name": "sampled", "cpu_num": 1, "memory_size": 64 << 20,
                              "disk_path": str(disk), "disk_format": "qcow2", "vnc": False,
                              "nics": [{"mac": "fa:16:3e:00:00:42", "bridge": test_bridge, "model": "virtio"}]})
    dom = backend.conn().createXML(xml, 0)
    yield dom
    remove_domain(vm_uuid)
    shutil.rmtree(work, ignore_errors=True)


def _vm(backend, vm_uuid):
    [sample] = backend.sample().values()
    return next(vm for vm in sample.vms if vm.vm_uuid == vm_uuid)


@needs_libvirtd
@pytest.mark.libvirt
def test_cpu_time_read_from_proc_agrees_with_libvirtds(backend, running_domain):
    name, vm_uuid = running_domain.name(), running_domain.UUIDString()
    ours = QemuProcesses().cpu_time(name, vm_uuid, running_domain.ID())
    [(_, stats)] = backend.conn().domainListGetStats([running_domain], libvirt.VIR_DOMAIN_STATS_CPU_TOTAL)
    assert ours is not None
    # clock ticks (10 ms) on our side, and a moment passes between the two readings
    assert abs(ours - stats["cpu.time"]) < 0.25e9


@needs_libvirtd
@pytest.mark.libvirt
def test_a_sample_carries_cpu_disk_and_nic_figures_of_a_real_domain(backend, running_domain):
    vm_uuid = running_domain.UUIDString()
    first = _vm(backend, vm_uuid)
    assert first.cpu_percent is None          # a CPU figure needs two readings
    tap = ET.fromstring(running_domain.XMLDesc()).find("./devices/interface/target").get("dev")
    assert [(device, mac) for device, mac, *_ in first.nics] == [(tap, "fa:16:3e:00:00:42")]
    deadline = time.monotonic() + 20
    vm = first
    while time.monotonic() < deadline and not (vm.disks and vm.disks[0][1]):
        time.sleep(0.2)                       # SeaBIOS reads the disk; a background round then tells
        vm = _vm(backend, vm_uuid)
    assert vm.cpu_percent is not None and 0 <= vm.cpu_percent <= 100
    [(device, read_bytes, _, read_ops, _)] = vm.disks
    assert device == "vda" and read_bytes > 0 and read_ops > 0   # SeaBIOS read the boot sector


@needs_libvirtd
@pytest.mark.libvirt
def test_a_domain_whose_qemu_is_not_readable_here_gets_its_cpu_time_from_libvirtd(backend, running_domain, tmp_path):
    from hostagent.backends.libvirt_stats import DomainStatsSampler

    sampler = DomainStatsSampler("cp-", QemuProcesses(pid_dir=str(tmp_path / "nowhere")))
    try:
        conn, vm_uuid = backend.conn(), running_domain.UUIDString()
        sampler.sample(conn)
        time.sleep(0.3)
        vms, _ = sampler.sample(conn)
        assert next(vm for vm in vms if vm.vm_uuid == vm_uuid).cpu_percent is not None
    finally:
        sampler.close()

"""What one sample of a host holds (its own figures and its VMs'), and how it reads in Prometheus's
text exposition format (version 0.0.4), the answer of ``GET /metrics/<host_uuid>``.

Series names and labels are the contract with the portal and Prometheus (docs/agent-protocol.md,
"Metrics"): a name never changes meaning; a figure the backend cannot give is left out, never 0.
"""
import math

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (read bytes, write bytes, read ops, write ops) of a disk; (rx bytes, tx bytes, rx packets, tx
# packets) of a NIC: counters since the device appeared.
DISK_FIELDS = ("read_bytes_total", "write_bytes_total", "read_ops_total", "write_ops_total")
NIC_FIELDS = ("rx_bytes_total", "tx_bytes_total", "rx_packets_total", "tx_packets_total")


class VmSample:
    """``disks``: [(device, *DISK_FIELDS)]; ``nics``: [(device, mac, *NIC_FIELDS)]; memory figures
    are None where the guest's balloon driver gives none."""

    __slots__ = ("vm_uuid", "cpu_percent", "memory_used", "memory_available", "disks", "nics")

    def __init__(self, vm_uuid, cpu_percent=None, memory_used=None, memory_available=None, disks=(), nics=()):
        self.vm_uuid = vm_uuid
        self.cpu_percent = cpu_percent
        self.memory_used = memory_used
        self.memory_available = memory_available
        self.disks = disks
        self.nics = nics


class HostSample:
    """``disks``: [(device, *DISK_FIELDS)]; ``nics``: [(device, *NIC_FIELDS)]; ``vms``: [VmSample]."""

    __slots__ = ("host_uuid", "cpu_percent", "memory_used", "memory_total", "load1", "disks", "nics", "vms")

    def __init__(self, host_uuid, cpu_percent=None, memory_used=None, memory_total=None, load1=None,
                 disks=(), nics=(), vms=()):
        self.host_uuid = host_uuid
        self.cpu_percent = cpu_percent
        self.memory_used = memory_used
        self.memory_total = memory_total
        self.load1 = load1
        self.disks = disks
        self.nics = nics
        self.vms = vms


HOST_GAUGES = (
    ("cloudportal_host_cpu_percent", "cpu_percent", "CPU busy over the last sample interval, percent of all CPUs"),
    ("cloudportal_host_memory_used_bytes", "memory_used", "memory in use (total minus available), bytes"),
    ("cloudportal_host_memory_total_bytes", "memory_total", "physical memory, bytes"),
    ("cloudportal_host_load1", "load1", "load average over one minute"),
)
VM_GAUGES = (
    ("cloudportal_vm_cpu_percent", "cpu_percent", "CPU time over the last sample interval, percent of the VM's vCPUs"),
    ("cloudportal_vm_memory_used_bytes", "memory_used", "memory the guest uses (balloon statistics), bytes"),
    ("cloudportal_vm_memory_available_bytes", "memory_available",
     "memory the guest can still use without swapping (balloon statistics), bytes"),
)
_DISK_HELP = ("bytes read", "bytes written", "read requests", "write requests")
_NIC_HELP = ("bytes received", "bytes sent", "packets received", "packets sent")


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def _number(value):
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _ok(value):
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def render(sample, agent_figures=()):
    """The text of one host's sample; ``agent_figures``: [(name, help, value)] gauges of the agent."""
    host = _escape(sample.host_uuid)
    host_label = f'host_uuid="{host}"'
    vm_labels = [(vm, f'vm_uuid="{_escape(vm.vm_uuid)}",{host_label}') for vm in sample.vms]
    out = []

    def family(name, kind, help_text, lines):
        if lines:
            out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
            out.extend(lines)

    for name, attr, help_text in HOST_GAUGES:
        value = getattr(sample, attr)
        family(name, "gauge", help_text, [f"{name}{{{host_label}}} {_number(value)}\n"] if _ok(value) else [])
    for kind, rows, fields, helps in (("disk", sample.disks, DISK_FIELDS, _DISK_HELP),
                                      ("network", sample.nics, NIC_FIELDS, _NIC_HELP)):
        for index, field in enumerate(fields):
            name = f"cloudportal_host_{kind}_{field}"
            family(name, "counter", f"{helps[index]} by the host's {kind} device", [
                f'{name}{{{host_label},device="{_escape(row[0])}"}} {_number(row[1 + index])}\n'
                for row in rows])
    for name, attr, help_text in VM_GAUGES:
        family(name, "gauge", help_text, [
            f"{name}{{{labels}}} {_number(getattr(vm, attr))}\n" for vm, labels in vm_labels
            if _ok(getattr(vm, attr))])
    for index, field in enumerate(DISK_FIELDS):
        name = f"cloudportal_vm_disk_{field}"
        family(name, "counter", f"{_DISK_HELP[index]} by the VM's disk", [
            f'{name}{{{labels},device="{_escape(disk[0])}"}} {_number(disk[1 + index])}\n'
            for vm, labels in vm_labels for disk in vm.disks])
    for index, field in enumerate(NIC_FIELDS):
        name = f"cloudportal_vm_network_{field}"
        family(name, "counter", f"{_NIC_HELP[index]} by the VM's NIC", [
            f'{name}{{{labels},device="{_escape(nic[0])}",mac="{_escape(nic[1])}"}} {_number(nic[2 + index])}\n'
            for vm, labels in vm_labels for nic in vm.nics])
    for name, help_text, value in agent_figures:
        family(name, "gauge", help_text, [f"{name} {_number(value)}\n"] if _ok(value) else [])
    return "".join(out).encode()

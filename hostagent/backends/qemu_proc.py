"""What a running domain's QEMU process shows in /proc, read without asking libvirtd: its CPU time
and its tap devices' counters.

libvirtd answers these for all domains at once too (``getAllDomainStats``), but it takes a few
milliseconds a domain to do so (docs/benchmarks.md, issue 17), while the same files read here take a
small fraction of that. Only for a libvirtd on this machine: its pid files are where QEMU's pids are.
"""
import os

TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _stat_fields(proc, pid):
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces and brackets)."""
    with open(os.path.join(proc, str(pid), "stat"), encoding="ascii", errors="replace") as fh:
        return fh.read().rpartition(")")[2].split()


class QemuProcesses:
    """CPU time of each domain's QEMU process, its pid read once per domain start from libvirt's
    pid file and checked against the process's command line (a pid file left from an earlier run
    must not lend another process's figures)."""

    def __init__(self, pid_dir="/run/libvirt/qemu", proc="/proc"):
        self.pid_dir = pid_dir
        self.proc = proc
        self._pids = {}   # vm uuid -> (domain id, pid)

    def _pid(self, name, vm_uuid, domain_id):
        known = self._pids.get(vm_uuid)
        if known is not None and known[0] == domain_id:
            return known[1]
        try:
            with open(os.path.join(self.pid_dir, f"{name}.pid"), encoding="ascii") as fh:
                pid = int(fh.read().strip())
            with open(os.path.join(self.proc, str(pid), "cmdline"), "rb") as fh:
                if f"guest={name}".encode() not in fh.read():
                    return None
        except (OSError, ValueError):
            return None
        self._pids[vm_uuid] = (domain_id, pid)
        return pid

    def cpu_time(self, name, vm_uuid, domain_id):
        """Nanoseconds of CPU the domain's QEMU has used (all its threads: vCPUs, I/O, emulator),
        or None when its process cannot be read here (the caller asks libvirtd instead)."""
        pid = self._pid(name, vm_uuid, domain_id)
        if pid is None:
            return None
        try:
            fields = _stat_fields(self.proc, pid)
        except OSError:
            self._pids.pop(vm_uuid, None)
            return None
        # utime and stime (fields 14 and 15 of stat; the thread group's totals)
        return (int(fields[11]) + int(fields[12])) * TICK_NS

    def forget(self, keep):
        for vm_uuid in set(self._pids) - set(keep):
            del self._pids[vm_uuid]


def tap_counters(proc="/proc"):
    """``{device: (rx_bytes, tx_bytes, rx_packets, tx_packets)}`` as the GUEST sees its NIC: a tap's
    receive is what the guest sent, so the host's counters are swapped (as libvirt does)."""
    counters = {}
    with open(os.path.join(proc, "net", "dev"), encoding="ascii") as fh:
        for line in fh.readlines()[2:]:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) >= 10:
                counters[name.strip()] = (int(parts[8]), int(parts[0]), int(parts[9]), int(parts[1]))
    return counters

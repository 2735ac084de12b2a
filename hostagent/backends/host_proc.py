"""A real host's own figures from /proc (Linux): CPU busy since the last sample, memory, load,
and the counters of its block devices and network interfaces. libvirt's node calls give CPU and
memory but no disks or interfaces, so everything comes from one place."""
import os

SECTOR = 512   # /proc/diskstats counts 512-byte sectors whatever the device's own sector size
# block devices that are not disks of the host: loop files, RAM disks, CD drives, floppies
SKIPPED_DISKS = ("loop", "ram", "zram", "sr", "fd")


def _cpu_times(proc):
    with open(os.path.join(proc, "stat"), encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
    fields = (fields + [0] * 8)[:8]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _memory(proc):
    figures = {}
    with open(os.path.join(proc, "meminfo"), encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached"):
                figures[key] = int(rest.split()[0]) * 1024
    total = figures.get("MemTotal")
    available = figures.get("MemAvailable")
    if available is None and total is not None:  # kernels before 3.14
        available = figures.get("MemFree", 0) + figures.get("Buffers", 0) + figures.get("Cached", 0)
    return (total - available if total is not None else None), total


def _disks(proc, sys_block):
    try:
        wanted = {name for name in os.listdir(sys_block) if not name.startswith(SKIPPED_DISKS)}
    except OSError:
        wanted = None
    disks = []
    with open(os.path.join(proc, "diskstats"), encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 10:
                continue
            name = parts[2]
            if (name not in wanted) if wanted is not None else name.startswith(SKIPPED_DISKS):
                continue
            reads, read_sectors, writes, written_sectors = int(parts[3]), int(parts[5]), int(parts[7]), int(parts[9])
            disks.append((name, read_sectors * SECTOR, written_sectors * SECTOR, reads, writes))
    return disks


def _nics(proc, skipped):
    nics = []
    with open(os.path.join(proc, "net", "dev"), encoding="ascii") as fh:
        for line in fh.readlines()[2:]:
            name, _, rest = line.partition(":")
            name = name.strip()
            if name == "lo" or name in skipped:
                continue
            parts = rest.split()
            if len(parts) < 10:
                continue
            nics.append((name, int(parts[0]), int(parts[8]), int(parts[1]), int(parts[9])))
    return nics


class HostProcSampler:
    """Keeps the previous CPU times, so each sample's CPU figure covers the interval before it."""

    def __init__(self, proc="/proc", sys_block="/sys/block"):
        self.proc = proc
        self.sys_block = sys_block
        self._previous_cpu = None

    def sample(self, skipped_nics=()):
        """``{"cpu_percent", "memory_used", "memory_total", "load1", "disks", "nics"}``; the first
        call has no CPU figure (None). ``skipped_nics``: the VMs' tap devices (theirs, not the host's)."""
        busy, total = _cpu_times(self.proc)
        cpu_percent = None
        if self._previous_cpu is not None and total > self._previous_cpu[1]:
            cpu_percent = min(100.0, max(0.0, 100.0 * (busy - self._previous_cpu[0]) / (total - self._previous_cpu[1])))
        self._previous_cpu = (busy, total)
        memory_used, memory_total = _memory(self.proc)
        try:
            load1 = os.getloadavg()[0]
        except OSError:
            load1 = None
        return {"cpu_percent": cpu_percent, "memory_used": memory_used, "memory_total": memory_total,
                "load1": load1, "disks": _disks(self.proc, self.sys_block), "nics": _nics(self.proc, set(skipped_nics))}

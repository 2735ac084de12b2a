"""The VMs' figures of one sample, read where they are cheapest.

- CPU time and NIC counters come from /proc (``qemu_proc``): one listing of the running domains
  from libvirtd, then files on this machine. libvirtd's bulk stats would take milliseconds a domain.
- Block and balloon figures exist only inside QEMU, so they need libvirtd to ask every QEMU over
  its monitor. They are asked for in a thread of their own, in ONE bulk call for all domains
  (``domainListGetStats``), once per sample; a sample carries the latest answers, which are at most
  one interval old (a counter's rate is the same, only later by up to that much).

CPU percent needs two readings of the CPU time, so the sampler keeps the previous one per domain;
a domain's first sample has no CPU figure. A domain's vCPU count and tap devices are read from its
XML once per start (the tap names change then), and again after ``forget`` (a device plugged in).
"""
import concurrent.futures
import logging
import time
import xml.etree.ElementTree as ET

import libvirt

from ..exposition import VmSample
from .qemu_proc import QemuProcesses, tap_counters

log = logging.getLogger("hostagent.libvirt")

QEMU_STATS = libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_BLOCK
KIB = 1024
# A domain busy with a job (starting, migrating) would hold the whole call up until the job ends:
# its figures that need the job are left out of this answer instead.
NOWAIT = getattr(libvirt, "VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT", 0)


def _indexed(stats, prefix):
    for index in range(int(stats.get(f"{prefix}.count", 0))):
        yield f"{prefix}.{index}."


def _memory(stats):
    """(used, available) in bytes from the balloon driver's statistics, or (None, None) when the
    guest gives none (no balloon driver, or its stats period is off)."""
    total = stats.get("balloon.available")
    usable = stats.get("balloon.usable")
    unused = stats.get("balloon.unused")
    if total is None or (usable is None and unused is None):
        return None, None
    free = usable if usable is not None else unused
    return max(0, total - free) * KIB, free * KIB


def _disks(stats):
    return [(stats.get(p + "name", ""), stats.get(p + "rd.bytes", 0), stats.get(p + "wr.bytes", 0),
             stats.get(p + "rd.reqs", 0), stats.get(p + "wr.reqs", 0)) for p in _indexed(stats, "block")]


class QemuFigures:
    """Block and balloon figures of the running domains, asked for in the background: ``refresh``
    collects the last round's answers and starts the next round if none is under way."""

    def __init__(self):
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hostagent-qemu-stats")
        self._round = None
        self.latest = {}   # vm uuid -> (domain id, memory used, memory available, disks)

    def refresh(self, conn, domains):
        if self._round is not None and self._round.done():
            try:
                self.latest = self._round.result()
            except libvirt.libvirtError as exc:
                log.warning("block and balloon figures: %s", exc)
                self.latest = {}
            self._round = None
        if self._round is None and domains:
            self._round = self._executor.submit(self.ask, conn, domains)

    @staticmethod
    def ask(conn, domains):
        """``{vm uuid: (domain id, memory used, memory available, disks)}``: one round, now."""
        figures = {}
        for dom, stats in conn.domainListGetStats(domains, QEMU_STATS, NOWAIT):
            try:
                figures[dom.UUIDString()] = (dom.ID(), *_memory(stats), _disks(stats))
            except libvirt.libvirtError:
                continue   # gone meanwhile
        return figures

    def close(self):
        self._executor.shutdown(wait=False, cancel_futures=True)


class DomainStatsSampler:
    def __init__(self, prefix, processes=None):
        self.prefix = prefix       # only the portal's domains (cp-<vm uuid>) are sampled
        self.processes = processes or QemuProcesses()
        self.qemu = QemuFigures()
        self._cpu = {}             # vm uuid -> (cpu time ns, monotonic seconds, domain id)
        self._static = {}          # vm uuid -> (domain id, vcpus, {tap device: mac})

    def _definition(self, dom, vm_uuid, domain_id):
        """``(vcpus, {tap device: mac})`` of the running domain, read from its XML once per start."""
        known = self._static.get(vm_uuid)
        if known is None or known[0] != domain_id:
            vcpus, macs = 1, {}
            try:
                root = ET.fromstring(dom.XMLDesc(0))
                vcpu = root.find("vcpu")
                if vcpu is not None:
                    vcpus = int(vcpu.get("current") or vcpu.text or 1)
                for nic in root.findall("./devices/interface"):
                    target, mac = nic.find("target"), nic.find("mac")
                    if target is not None and mac is not None and target.get("dev"):
                        macs[target.get("dev")] = mac.get("address")
            except (libvirt.libvirtError, ET.ParseError, ValueError):
                pass
            known = self._static[vm_uuid] = (domain_id, max(1, vcpus), macs)
        return known[1], known[2]

    def forget(self, vm_uuid):
        """Read the domain's XML again at the next sample (after a device was plugged in or out)."""
        self._static.pop(vm_uuid, None)

    def _cpu_percent(self, vm_uuid, domain_id, cpu_time, vcpus, now):
        previous = self._cpu.get(vm_uuid)
        self._cpu[vm_uuid] = (cpu_time, now, domain_id)
        # a restarted domain counts its CPU time from 0 again
        if previous is None or previous[2] != domain_id or now <= previous[1] or cpu_time < previous[0]:
            return None
        share = (cpu_time - previous[0]) / 1e9 / (now - previous[1]) / vcpus
        return min(100.0, max(0.0, 100.0 * share))

    def _libvirt_cpu_times(self, conn, domains):
        """CPU times from libvirtd for the domains whose QEMU is not readable here."""
        times = {}
        for dom, stats in conn.domainListGetStats(domains, libvirt.VIR_DOMAIN_STATS_CPU_TOTAL, NOWAIT):
            if stats.get("cpu.time") is not None:
                times[dom.UUIDString()] = stats["cpu.time"]
        return times

    def sample(self, conn):
        """``([VmSample], {tap devices})`` of the running and paused ``cp-`` domains."""
        now = time.monotonic()
        domains = []
        for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            name = dom.name()
            if name.startswith(self.prefix):
                domains.append((dom, name, dom.UUIDString(), dom.ID()))
        self.qemu.refresh(conn, [entry[0] for entry in domains])
        cpu_times = {vm_uuid: self.processes.cpu_time(name, vm_uuid, domain_id)
                     for _, name, vm_uuid, domain_id in domains}
        unread = [dom for dom, _, vm_uuid, _ in domains if cpu_times[vm_uuid] is None]
        if unread:
            cpu_times.update(self._libvirt_cpu_times(conn, unread))
        definitions = {vm_uuid: self._definition(dom, vm_uuid, domain_id) for dom, _, vm_uuid, domain_id in domains}
        counters = tap_counters() if any(macs for _, macs in definitions.values()) else {}
        vms, taps = [], set()
        for _, _, vm_uuid, domain_id in domains:
            vcpus, macs = definitions[vm_uuid]
            cpu_time = cpu_times.get(vm_uuid)
            cpu_percent = None if cpu_time is None else self._cpu_percent(vm_uuid, domain_id, cpu_time, vcpus, now)
            used = available = None
            disks = []
            qemu = self.qemu.latest.get(vm_uuid)
            if qemu is not None and qemu[0] == domain_id:
                used, available, disks = qemu[1:]
            nics = []
            for device, mac in macs.items():
                taps.add(device)
                if device in counters:
                    nics.append((device, mac, *counters[device]))
            vms.append(VmSample(vm_uuid, cpu_percent, used, available, disks, nics))
        running = {vm_uuid for _, _, vm_uuid, _ in domains}
        for gone in (set(self._cpu) | set(self._static)) - running:
            self._cpu.pop(gone, None)
            self._static.pop(gone, None)
        self.processes.forget(running)
        return vms, taps

    def close(self):
        self.qemu.close()

"""The VMs' figures of one sample from ONE libvirt call for all domains (``getAllDomainStats``,
``virsh domstats``): a call per domain would cost a round trip to libvirtd per VM.

CPU percent needs two readings of ``cpu.time``, so the sampler keeps the previous one per domain;
a domain's first sample has no CPU figure. Domain stats name a NIC by its tap device, not its MAC,
so the MACs, and the vCPU count the CPU time is shared by, are read from the domain's XML once per
domain start (the tap names change then): the VCPU stats group would ask each QEMU for them on
every sample.
"""
import time
import xml.etree.ElementTree as ET

import libvirt

from ..exposition import VmSample

STATS = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_BALLOON
         | libvirt.VIR_DOMAIN_STATS_INTERFACE | libvirt.VIR_DOMAIN_STATS_BLOCK)
KIB = 1024
# A domain busy with a job (starting, migrating) would hold the whole call up until the job ends:
# its figures that need the job are left out of this sample instead.
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


class DomainStatsSampler:
    def __init__(self, prefix):
        self.prefix = prefix       # only the portal's domains (cp-<vm uuid>) are sampled
        self._cpu = {}             # vm uuid -> (cpu.time ns, monotonic seconds, domain id)
        self._static = {}          # vm uuid -> (domain id, vcpus, {tap device: mac})

    def _definition(self, dom, vm_uuid, device=None):
        """``(vcpus, {tap device: mac})`` of the running domain, read from its XML once per start
        (again when a tap appears that it did not name: a NIC hot-plugged since)."""
        known = self._static.get(vm_uuid)
        if known is None or known[0] != dom.ID() or (device is not None and device not in known[2]):
            vcpus, macs = 1, {}
            try:
                root = ET.fromstring(dom.XMLDesc(0))
                vcpu = root.find("vcpu")
                if vcpu is not None:
                    vcpus = int(vcpu.get("current") or vcpu.text or 1)
                for nic in root.findall("./devices/interface"):
                    target, mac = nic.find("target"), nic.find("mac")
                    if target is not None and mac is not None:
                        macs[target.get("dev")] = mac.get("address")
            except (libvirt.libvirtError, ET.ParseError, ValueError):
                pass
            known = self._static[vm_uuid] = (dom.ID(), max(1, vcpus), macs)
        return known[1], known[2]

    def sample(self, conn):
        """``([VmSample], {tap devices})`` of the running and paused ``cp-`` domains."""
        now = time.monotonic()
        records = conn.getAllDomainStats(STATS, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | NOWAIT)
        vms, taps, seen = [], set(), set()
        for dom, stats in records:
            try:
                if not dom.name().startswith(self.prefix):
                    continue
                vm_uuid = dom.UUIDString()
            except libvirt.libvirtError:
                continue   # gone meanwhile
            seen.add(vm_uuid)
            cpu_percent = None
            cpu_time = stats.get("cpu.time")
            if cpu_time is not None:
                previous = self._cpu.get(vm_uuid)
                vcpus = self._definition(dom, vm_uuid)[0]
                run = dom.ID()   # a restarted domain counts its CPU time from 0 again
                if previous is not None and previous[2] == run and now > previous[1] and cpu_time >= previous[0]:
                    share = (cpu_time - previous[0]) / 1e9 / (now - previous[1]) / vcpus
                    cpu_percent = min(100.0, max(0.0, 100.0 * share))
                self._cpu[vm_uuid] = (cpu_time, now, run)
            used, available = _memory(stats)
            disks = [(stats.get(p + "name", ""), stats.get(p + "rd.bytes", 0), stats.get(p + "wr.bytes", 0),
                      stats.get(p + "rd.reqs", 0), stats.get(p + "wr.reqs", 0)) for p in _indexed(stats, "block")]
            nics = []
            for p in _indexed(stats, "net"):
                device = stats.get(p + "name")
                if not device or p + "rx.bytes" not in stats:
                    continue   # user-mode networking: no tap, no counters
                taps.add(device)
                mac = self._definition(dom, vm_uuid, device)[1].get(device, "")
                nics.append((device, mac, stats.get(p + "rx.bytes", 0), stats.get(p + "tx.bytes", 0),
                             stats.get(p + "rx.pkts", 0), stats.get(p + "tx.pkts", 0)))
            vms.append(VmSample(vm_uuid, cpu_percent, used, available, disks, nics))
        for gone in (set(self._cpu) | set(self._static)) - seen:
            self._cpu.pop(gone, None)
            self._static.pop(gone, None)
        return vms, taps

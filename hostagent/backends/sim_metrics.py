"""The simulator's metrics: plausible series for thousands of hosts and VMs, cheap to sample.

Each host and VM has its own pattern drawn from its uuid (so a VM's series keeps its shape across
restarts of the agent): a base CPU load with a slow swing and a little noise, disk and network
rates that grow with the load, a share of its memory in use. The admin API can pin a VM's or a
host's CPU load (``POST /sim/load``), so a test can raise it and lower it again; a host's CPU
otherwise follows the load of its VMs.
"""
import math
import random
import time

from ..errors import AgentFailure, vm_not_found
from ..exposition import HostSample, VmSample

TWO_PI = 2 * math.pi
# per second at 100 % CPU: disk read/write bytes, read/write ops; NIC rx/tx bytes, rx/tx packets
RATE_RANGES = ((2e5, 4e7), (1e5, 2e7), (20, 2000), (10, 1000), (1e4, 2e7), (1e4, 1e7), (20, 15000), (20, 10000))
IDLE_SHARE = 0.05   # the rates' share that flows even with no CPU load


class _Pattern:
    __slots__ = ("base", "swing", "omega", "phase", "rates", "memory_share", "rng", "override", "counters", "last")

    def __init__(self, uuid):
        rng = random.Random(uuid)
        self.base = rng.uniform(2.0, 40.0)
        self.swing = rng.uniform(1.0, 15.0)
        self.omega = TWO_PI / rng.uniform(300.0, 3600.0)
        self.phase = rng.uniform(0.0, TWO_PI)
        self.rates = tuple(rng.uniform(low, high) for low, high in RATE_RANGES)
        self.memory_share = rng.uniform(0.3, 0.8)
        self.rng = rng
        self.override = None
        self.counters = [0.0] * len(RATE_RANGES)
        self.last = None

    def cpu(self, now):
        if self.override is not None:
            return self.override
        value = self.base + self.swing * math.sin(self.omega * now + self.phase) + (self.rng.random() - 0.5) * 3.0
        return 0.0 if value < 0.0 else 100.0 if value > 100.0 else value

    def advance(self, now, cpu):
        """Grow the counters by what flowed since the previous sample at this load."""
        if self.last is not None and now > self.last:
            flow = (now - self.last) * (IDLE_SHARE + cpu / 100.0)
            counters = self.counters
            for index, rate in enumerate(self.rates):
                counters[index] += rate * flow
        self.last = now


class SimMetricsMixin:
    """Part of SimBackend: ``sample()`` for hostagent.sampling, ``set_load()`` for the admin API."""

    def _patterns(self):
        return self.__dict__.setdefault("sim_patterns", {})

    def _pattern(self, uuid):
        patterns = self._patterns()
        pattern = patterns.get(uuid)
        if pattern is None:
            pattern = patterns[uuid] = _Pattern(uuid)
        return pattern

    def set_load(self, body):
        """``{"vm_uuid" | "host_uuid", "cpu_percent": 0..100 | null}``: pin the CPU load (null: back
        to the resource's own pattern)."""
        vm_uuid, host_uuid = body.get("vm_uuid"), body.get("host_uuid")
        if bool(vm_uuid) == bool(host_uuid) or not isinstance(vm_uuid or host_uuid, str):
            raise AgentFailure(400, "INVALID_REQUEST", "give either vm_uuid or host_uuid (a string)")
        cpu = body.get("cpu_percent")
        if cpu is not None and (isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or not 0 <= cpu <= 100):
            raise AgentFailure(400, "INVALID_REQUEST", "cpu_percent must be a number from 0 to 100, or null")
        if vm_uuid:
            vm_uuid = vm_uuid.lower()
            if not any(vm_uuid in host.vms for host in self.hosts.values()):
                raise vm_not_found(vm_uuid)
            self._pattern(vm_uuid).override = None if cpu is None else float(cpu)
            return {"vm_uuid": vm_uuid, "cpu_percent": cpu}
        self._host(host_uuid)   # 404 HOST_NOT_FOUND
        self._pattern(host_uuid).override = None if cpu is None else float(cpu)
        return {"host_uuid": host_uuid, "cpu_percent": cpu}

    def sample(self):
        """The sample's time is fixed now; each host's figures are worked out at that time when
        they are first asked for (a scrape), so thousands of hosts that nobody scrapes cost nothing."""
        patterns = self._patterns()
        if len(patterns) > len(self.hosts) + sum(len(host.vms) for host in self.hosts.values()):
            live = set(self.hosts)   # the patterns of deleted hosts and VMs go
            for host in self.hosts.values():
                live.update(host.vms)
            for uuid in [u for u in patterns if u not in live]:
                del patterns[uuid]
        return _LazySamples(self, time.time())

    def sample_host(self, host, now):
        vms = []
        busy_vcpus = 0.0
        committed = 0
        for vm_uuid, vm in host.vms.items():
            state = vm["state"]
            if state == "Stopped":
                continue
            pattern = self._pattern(vm_uuid)
            cpu = pattern.cpu(now) if state == "Running" else 0.0
            pattern.advance(now, cpu)
            c = pattern.counters
            memory = vm.get("memory_size") or 0
            used = int(memory * pattern.memory_share * (0.9 + cpu / 500.0))
            nics = [(f"vnet{index}", nic["mac"], int(c[4]), int(c[5]), int(c[6]), int(c[7]))
                    for index, nic in enumerate(vm.get("nics") or ())]
            vms.append(VmSample(vm_uuid, cpu, used, memory - used,
                                [("vda", int(c[0]), int(c[1]), int(c[2]), int(c[3]))], nics))
            busy_vcpus += cpu * (vm.get("cpu_num") or 1) / 100.0
            committed += memory
        pattern = self._pattern(host.uuid)
        if pattern.override is not None:
            cpu = pattern.override
        else:
            cpu = min(100.0, 1.0 + 100.0 * busy_vcpus / max(1, host.cpu_num) + pattern.rng.random())
        pattern.advance(now, cpu)
        c = pattern.counters
        return HostSample(
            host.uuid, cpu, min(host.memory_size, int(host.memory_size * 0.04) + committed), host.memory_size,
            round(host.cpu_num * cpu / 100.0 * (0.8 + 0.4 * pattern.rng.random()), 2),
            [("sda", int(c[0]), int(c[1]), int(c[2]), int(c[3]))],
            [("eth0", int(c[4]), int(c[5]), int(c[6]), int(c[7]))], vms)


class _LazySamples:
    """What ``sample()`` answers: host uuid -> HostSample at ``now``, each worked out once, when
    first asked for (a host added since the sample is worked out too)."""

    def __init__(self, backend, now):
        self.backend = backend
        self.now = now
        self.done = {}

    def get(self, host_uuid):
        sample = self.done.get(host_uuid)
        if sample is None:
            host = self.backend.hosts.get(host_uuid)
            if host is None:
                return None
            sample = self.done[host_uuid] = self.backend.sample_host(host, self.now)
        return sample

    def __contains__(self, host_uuid):
        return host_uuid in self.backend.hosts

    def __len__(self):
        return len(self.backend.hosts)

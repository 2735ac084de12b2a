"""In-memory simulator: one process serving thousands of hosts, with latency and fault injection."""
import asyncio
import itertools
import time

from ..errors import AgentFailure, invalid_state, vm_not_found
from .base import Backend
from .network_sim import SimNetworkMixin
from .sim_metrics import SimMetricsMixin
from .storage_sim import SimStorageMixin

FAULT_MODES = ("fail", "hang", "slow")
HANG_FOREVER = 24 * 3600.0


class SimHost:
    __slots__ = ("uuid", "secret", "cpu_num", "memory_size", "hostname", "vms", "portal_url")

    def __init__(self, uuid, secret, cpu_num, memory_size, hostname):
        self.uuid = uuid
        self.secret = secret
        self.cpu_num = cpu_num
        self.memory_size = memory_size
        self.hostname = hostname
        self.vms = {}
        self.portal_url = None


class Fault:
    __slots__ = ("id", "host_uuid", "path", "mode", "count", "delay")

    def __init__(self, id, host_uuid, path, mode, count, delay):
        self.id, self.host_uuid, self.path, self.mode, self.count, self.delay = (
            id, host_uuid, path, mode, count, delay)

    def matches(self, host_uuid, path):
        return ((self.host_uuid is None or self.host_uuid == host_uuid)
                and (self.path is None or self.path == path))

    def as_dict(self):
        return {"id": self.id, "host_uuid": self.host_uuid, "path": self.path, "mode": self.mode,
                "count": self.count, "delay": self.delay}


class SimBackend(SimNetworkMixin, SimStorageMixin, SimMetricsMixin, Backend):
    name = "sim"
    blocking = False

    def __init__(self, config):
        super().__init__(config)
        self.hosts = {}
        self.faults = []
        self.latency = float(config.get("latency") or 0.0)
        self._fault_ids = itertools.count(1)
        self._vnc_ports = itertools.count(5900)

    # --- admin API (called by the server's /sim routes) ----------------------
    def add_host(self, body):
        uuid = body.get("host_uuid")
        secret = body.get("secret")
        cpu_num = body.get("cpu_num")
        memory_size = body.get("memory_size")
        if not isinstance(uuid, str) or not uuid:
            raise AgentFailure(400, "INVALID_REQUEST", "host_uuid must be a non-empty string")
        if not isinstance(secret, str) or not secret:
            raise AgentFailure(400, "INVALID_REQUEST", "secret must be a non-empty string")
        for field, value in (("cpu_num", cpu_num), ("memory_size", memory_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise AgentFailure(400, "INVALID_REQUEST", f"{field} must be a positive integer")
        hostname = body.get("hostname") or f"sim-{uuid[:8]}"
        self.storage_host_added(uuid, body)
        self.hosts[uuid] = SimHost(uuid, secret, cpu_num, memory_size, hostname)
        return {"host_uuid": uuid}

    def delete_host(self, uuid):
        if self.hosts.pop(uuid, None) is None:
            raise AgentFailure(404, "HOST_NOT_FOUND", f"no simulated host {uuid}")
        self.storage_host_removed(uuid)
        self.faults = [f for f in self.faults if f.host_uuid != uuid]
        return {"host_uuid": uuid}

    def host_detail(self, uuid):
        host = self._host(uuid)
        return {"host_uuid": host.uuid, "cpu_num": host.cpu_num, "memory_size": host.memory_size,
                "hostname": host.hostname, "portal_url": host.portal_url,
                "vms": {u: dict(vm) for u, vm in host.vms.items()}}

    def add_fault(self, body):
        mode = body.get("mode")
        if mode not in FAULT_MODES:
            raise AgentFailure(400, "INVALID_REQUEST", f"mode must be one of {', '.join(FAULT_MODES)}")
        count = body.get("count")
        if count is not None and (not isinstance(count, int) or count <= 0):
            raise AgentFailure(400, "INVALID_REQUEST", "count must be a positive integer or null")
        delay = body.get("delay")
        if delay is not None and (not isinstance(delay, (int, float)) or delay < 0):
            raise AgentFailure(400, "INVALID_REQUEST", "delay must be a number of seconds")
        if mode == "slow" and delay is None:
            raise AgentFailure(400, "INVALID_REQUEST", "mode slow needs a delay")
        path = body.get("path")
        if path is not None and not isinstance(path, str):
            raise AgentFailure(400, "INVALID_REQUEST", "path must be a string or null")
        fault = Fault(next(self._fault_ids), body.get("host_uuid"), path, mode, count,
                      float(delay) if delay is not None else None)
        self.faults.append(fault)
        return fault.as_dict()

    def clear_faults(self):
        cleared = len(self.faults)
        self.faults = []
        return {"cleared": cleared}

    def set_vm_state(self, host_uuid, vm_uuid, state):
        """A state change made 'behind the portal's back' (like virsh destroy): reported as an event."""
        host = self._host(host_uuid)
        vm = host.vms.get(vm_uuid)
        if vm is None:
            raise vm_not_found(vm_uuid)
        if state not in ("Running", "Stopped", "Paused"):
            raise AgentFailure(400, "INVALID_REQUEST", "state must be Running, Stopped or Paused")
        self._set_state(vm, state)
        if self.events is not None:
            self.events.vm_state(host_uuid, vm_uuid, state)
        return {"vm_uuid": vm_uuid, "state": state}

    # --- Backend --------------------------------------------------------------
    def _host(self, uuid):
        host = self.hosts.get(uuid)
        if host is None:
            raise AgentFailure(404, "HOST_NOT_FOUND", f"no simulated host {uuid}")
        return host

    def secret_for(self, host_uuid):
        host = self.hosts.get(host_uuid)
        return host.secret if host else None

    def portal_url(self, host_uuid):
        host = self.hosts.get(host_uuid)
        return host.portal_url if host else None

    def set_portal_url(self, host_uuid, url):
        self._host(host_uuid).portal_url = url

    async def before_request(self, host_uuid, path):
        fault = None
        for candidate in self.faults:
            if candidate.matches(host_uuid, path):
                fault = candidate
                break
        if fault is not None and fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self.faults = [f for f in self.faults if f is not fault]
        delay = self.latency
        if fault is not None and fault.mode == "slow":
            delay += fault.delay or 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is None or fault.mode == "slow":
            return
        if fault.mode == "hang":
            await asyncio.sleep(fault.delay if fault.delay is not None else HANG_FOREVER)
            raise AgentFailure(503, "INJECTED_HANG", f"injected hang on {path} ended")
        raise AgentFailure(503, "INJECTED_FAILURE", f"injected failure on {path}",
                           {"fault_id": fault.id})

    def facts(self, host_uuid):
        host = self._host(host_uuid)
        return {"cpu_model": "Simulated CPU", "cpu_sockets": 1, "cpu_cores": host.cpu_num, "cpu_threads": 1,
                "cpu_num": host.cpu_num, "memory_size": host.memory_size, "hostname": host.hostname,
                "os": "CloudPortal simulator", "libvirt_version": "sim", "qemu_version": "sim",
                "kvm_available": True}

    def capacity(self, host_uuid):
        host = self._host(host_uuid)
        used = sum(vm["memory_size"] for vm in host.vms.values() if vm["state"] != "Stopped")
        return {"cpu_num": host.cpu_num, "memory_size": host.memory_size,
                "free_memory": max(0, host.memory_size - used)}

    def vm_states(self, host_uuid):
        host = self._host(host_uuid)
        return {"vms": {u: vm["state"] for u, vm in host.vms.items()}}

    def vm_define(self, host_uuid, spec):
        host = self._host(host_uuid)
        vm = host.vms.get(spec["vm_uuid"])
        if vm is None:
            vm = host.vms[spec["vm_uuid"]] = {"state": "Stopped", "vnc_port": None}
        vm.update(name=spec["name"], cpu_num=spec["cpu_num"], memory_size=spec["memory_size"],
                  disk_path=spec["disk_path"], vnc=spec["vnc"], nics=spec.get("nics", []),
                  vnc_password_set=bool(spec.get("vnc_password")), spec=spec)
        return {"vm_uuid": spec["vm_uuid"], "state": vm["state"]}

    def _set_state(self, vm, state):
        vm["state"] = state
        if state == "Stopped":
            vm["vnc_port"] = None
        elif vm["vnc_port"] is None and vm.get("vnc", True):
            vm["vnc_port"] = next(self._vnc_ports)

    def vm_op(self, host_uuid, op, vm_uuid, body):
        host = self._host(host_uuid)
        vm = host.vms.get(vm_uuid)
        if vm is None:
            raise vm_not_found(vm_uuid)
        state = vm["state"]
        if op == "vnc-port":
            return {"vm_uuid": vm_uuid, "port": vm["vnc_port"]}
        if op == "undefine":
            del host.vms[vm_uuid]
            return {"vm_uuid": vm_uuid, "state": "Undefined"}
        if op in ("start", "resume"):
            if op == "resume" and state == "Stopped":
                raise invalid_state(vm_uuid, state, op)
            self._set_state(vm, "Running")
        elif op in ("stop", "destroy"):
            self._set_state(vm, "Stopped")
        elif op == "pause":
            if state == "Stopped":
                raise invalid_state(vm_uuid, state, op)
            self._set_state(vm, "Paused")
        elif op == "reboot":
            if state == "Stopped":
                raise invalid_state(vm_uuid, state, op)
            self._set_state(vm, "Running")
        return {"vm_uuid": vm_uuid, "state": vm["state"]}

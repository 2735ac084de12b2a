"""Live changes of a defined domain's guest settings (docs/agent-protocol.md, "Guest settings").

Each path changes the running domain (when it runs) and its persistent definition together, so a
later start without a new define still has the change; the portal defines the domain again from
its rows on every start anyway. Both backends: libvirt (libvirt-python) and sim (the spec of the
VM's last define, changed in place).

  /v1/vm/cdrom         {vm_uuid, target, bus?, path|null}  change the media of a CD-ROM (null: eject)
  /v1/vm/cpu-memory    {vm_uuid, cpu_num?, memory_size?}   vCPUs (hot-plug) and balloon target, within
                                                           the define's cpu_max / memory_max
  /v1/vm/qos           {vm_uuid, iotune?: {path: {...}}, nic_bandwidth?: {mac: {...}}}
  /v1/vm/password      {vm_uuid, user, password}           through the QEMU guest agent
"""
import xml.etree.ElementTree as ET

from ..errors import AgentFailure, invalid_request, invalid_state, vm_not_found
from .base import require_vm_uuid
from .guest_parts import BANDWIDTH_KEYS, kib, validate_bandwidth, validate_iotune   # before disks: part order
from .disks import TARGET_RE, disk_xml, validate_disk  # noqa: I001
from .routes import route

try:
    import libvirt
except ImportError:  # pragma: no cover - the sim backend needs none
    libvirt = None


def guest_agent_unavailable(vm_uuid, why):
    return AgentFailure(409, "GUEST_AGENT_UNAVAILABLE",
                        f"the QEMU guest agent of VM {vm_uuid} does not answer ({why}): the guest needs "
                        "qemu-guest-agent installed and running, and the VM the guest agent channel",
                        {"vm_uuid": vm_uuid})


# --- validation ---------------------------------------------------------------------------------
def validate_cdrom(body):
    vm_uuid = require_vm_uuid(body)
    target = body.get("target")
    if not isinstance(target, str) or not TARGET_RE.match(target):
        raise invalid_request("target must be the CD-ROM's device name (sda, hdc...)", field="target")
    disk = validate_disk({"device": "cdrom", "path": body.get("path"), "bus": body.get("bus", "sata"),
                          "format": "raw", "target": target}, None, field="path")
    return {"vm_uuid": vm_uuid, "disk": disk}


def validate_cpu_memory(body):
    spec = {"vm_uuid": require_vm_uuid(body)}
    for field in ("cpu_num", "memory_size"):
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise invalid_request(f"{field} must be a positive integer", field=field)
        spec[field] = value
    if len(spec) == 1:
        raise invalid_request("give cpu_num, memory_size or both", field="cpu_num")
    return spec


def validate_qos(body):
    spec = {"vm_uuid": require_vm_uuid(body), "iotune": {}, "nic_bandwidth": {}}
    for field, check in (("iotune", validate_iotune), ("nic_bandwidth", validate_bandwidth)):
        values = body.get(field) or {}
        if not isinstance(values, dict):
            raise invalid_request(f"{field} must be an object", field=field)
        spec[field] = {str(key): check(limits, f"{field}[{key}]") for key, limits in values.items()}
    spec["nic_bandwidth"] = {mac.lower(): limits for mac, limits in spec["nic_bandwidth"].items()}
    if not spec["iotune"] and not spec["nic_bandwidth"]:
        raise invalid_request("give iotune, nic_bandwidth or both", field="iotune")
    return spec


def validate_password(body):
    spec = {"vm_uuid": require_vm_uuid(body)}
    user = body.get("user", "root")
    password = body.get("password")
    if not isinstance(user, str) or not user or len(user) > 64 or any(ch in user for ch in ":\n\0"):
        raise invalid_request("user must be a user name", field="user")
    if not isinstance(password, str) or not password or len(password) > 256 or "\0" in password:
        raise invalid_request("password must be 1 to 256 characters", field="password")
    spec.update(user=user, password=password)
    return spec


# --- libvirt --------------------------------------------------------------------------------------
def _flags(backend, dom):
    """Change the running domain and its persistent definition; a stopped one only the latter."""
    live = backend._state(dom) != "Stopped"
    return (libvirt.VIR_DOMAIN_AFFECT_LIVE if live else 0) | libvirt.VIR_DOMAIN_AFFECT_CONFIG, live


def cdrom_libvirt(backend, host_uuid, spec):
    dom = backend._domain(spec["vm_uuid"])
    flags, live = _flags(backend, dom)
    backend._call(dom.updateDeviceFlags, disk_xml(spec["disk"]), flags)
    return {"vm_uuid": spec["vm_uuid"], "target": spec["disk"]["target"], "path": spec["disk"]["path"], "live": live}


def cpu_memory_libvirt(backend, host_uuid, spec):
    dom = backend._domain(spec["vm_uuid"])
    flags, live = _flags(backend, dom)
    if "cpu_num" in spec:
        backend._call(dom.setVcpusFlags, spec["cpu_num"], flags)
    if "memory_size" in spec:
        # the balloon target: the guest gives the memory back only with its virtio-balloon driver
        backend._call(dom.setMemoryFlags, max(1, spec["memory_size"] // 1024), flags)
    return {"vm_uuid": spec["vm_uuid"], "live": live,
            **{k: spec[k] for k in ("cpu_num", "memory_size") if k in spec}}


def _disk_targets(dom, backend):
    root = ET.fromstring(backend._call(dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE))
    targets = {}
    for disk in root.findall("./devices/disk"):
        source, target = disk.find("source"), disk.find("target")
        if source is not None and target is not None and source.get("file"):
            targets[source.get("file")] = target.get("dev")
    return targets


def qos_libvirt(backend, host_uuid, spec):
    dom = backend._domain(spec["vm_uuid"])
    flags, live = _flags(backend, dom)
    targets = _disk_targets(dom, backend)
    for path, limits in spec["iotune"].items():
        if path not in targets:
            raise invalid_request(f"iotune names {path}, which is none of the VM's disks", field="iotune")
        # every key, so a limit left out is lifted (0) rather than kept from before
        params = {key: limits.get(key, 0) for key in
                  ("total_iops_sec", "read_iops_sec", "write_iops_sec", "total_bytes_sec", "read_bytes_sec",
                   "write_bytes_sec")}
        if params["total_iops_sec"]:
            params["read_iops_sec"] = params["write_iops_sec"] = 0   # libvirt refuses total with read/write
        if params["total_bytes_sec"]:
            params["read_bytes_sec"] = params["write_bytes_sec"] = 0
        backend._call(dom.setBlockIoTune, targets[path], params, flags)
    for mac, limits in spec["nic_bandwidth"].items():
        params = {f"{key}.average": kib(limits.get(key, 0)) for key in BANDWIDTH_KEYS}
        # libvirt takes LIVE and CONFIG one at a time for interface parameters
        for flag in ((libvirt.VIR_DOMAIN_AFFECT_LIVE,) if live else ()) + (libvirt.VIR_DOMAIN_AFFECT_CONFIG,):
            backend._call(dom.setInterfaceParameters, mac, params, flag)
    return {"vm_uuid": spec["vm_uuid"], "live": live}


def password_libvirt(backend, host_uuid, spec):
    dom = backend._domain(spec["vm_uuid"])
    if backend._state(dom) != "Running":
        raise invalid_state(spec["vm_uuid"], backend._state(dom), "change the password of")
    try:
        dom.setUserPassword(spec["user"], spec["password"], 0)
    except libvirt.libvirtError as exc:
        code = exc.get_error_code()
        if code in (libvirt.VIR_ERR_AGENT_UNRESPONSIVE, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                    getattr(libvirt, "VIR_ERR_AGENT_COMMAND_TIMEOUT", -1),
                    getattr(libvirt, "VIR_ERR_AGENT_UNSYNCED", -1)):
            # libvirt's message names the cause (no channel, agent not connected) without secrets
            raise guest_agent_unavailable(spec["vm_uuid"], str(exc).split(": ", 1)[-1]) from None
        raise AgentFailure(500, "LIBVIRT_ERROR", f"setting the password failed (libvirt error {code})",
                           {"libvirt_code": code}) from None
    return {"vm_uuid": spec["vm_uuid"], "user": spec["user"], "changed": True}


# --- sim: the spec of the last define, changed as libvirt would change the domain -------------------
def _sim_vm(backend, host_uuid, vm_uuid):
    vm = backend._host(host_uuid).vms.get(vm_uuid)
    if vm is None:
        raise vm_not_found(vm_uuid)
    return vm


def cdrom_sim(backend, host_uuid, spec):
    vm = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    disk = spec["disk"]
    found = next((d for d in vm["spec"].get("disks", []) if d.get("target") == disk["target"]), None)
    if found is None or found["device"] != "cdrom":
        raise AgentFailure(500, "LIBVIRT_ERROR", f"target {disk['target']} is not a CD-ROM of the domain")
    found["path"] = disk["path"]
    return {"vm_uuid": spec["vm_uuid"], "target": disk["target"], "path": disk["path"],
            "live": vm["state"] != "Stopped"}


def cpu_memory_sim(backend, host_uuid, spec):
    vm = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    domain = vm["spec"]
    for field, limit in (("cpu_num", "cpu_max"), ("memory_size", "memory_max")):
        if field in spec and spec[field] > domain.get(limit, domain[field]):
            raise AgentFailure(500, "LIBVIRT_ERROR", f"{field} {spec[field]} is above the domain's maximum "
                                                     f"{domain.get(limit, domain[field])}")
    for field in ("cpu_num", "memory_size"):
        if field in spec:
            domain[field] = vm[field] = spec[field]
    return {"vm_uuid": spec["vm_uuid"], "live": vm["state"] != "Stopped",
            **{k: spec[k] for k in ("cpu_num", "memory_size") if k in spec}}


def qos_sim(backend, host_uuid, spec):
    vm = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    domain = vm["spec"]
    paths = {d.get("path") for d in domain.get("disks", [])}
    for path in spec["iotune"]:
        if path not in paths:
            raise invalid_request(f"iotune names {path}, which is none of the VM's disks", field="iotune")
    domain.setdefault("iotune", {}).update(spec["iotune"])
    domain.setdefault("nic_bandwidth", {}).update(spec["nic_bandwidth"])
    return {"vm_uuid": spec["vm_uuid"], "live": vm["state"] != "Stopped"}


def password_sim(backend, host_uuid, spec):
    vm = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    if vm["state"] != "Running":
        raise invalid_state(spec["vm_uuid"], vm["state"], "change the password of")
    # a simulated guest has no OS either: it answers as a real domain without a guest agent does
    why = "QEMU guest agent is not connected" if vm["spec"].get("guest_agent") else "QEMU guest agent is not configured"
    raise guest_agent_unavailable(spec["vm_uuid"], why)


route("/v1/vm/cdrom", validate_cdrom, libvirt=cdrom_libvirt, sim=cdrom_sim)
route("/v1/vm/cpu-memory", validate_cpu_memory, libvirt=cpu_memory_libvirt, sim=cpu_memory_sim)
route("/v1/vm/qos", validate_qos, libvirt=qos_libvirt, sim=qos_sim)
route("/v1/vm/password", validate_password, libvirt=password_libvirt, sim=password_sim)

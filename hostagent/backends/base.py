"""The interface every backend implements.

A backend serves one or more hosts (``host_uuid``). Operation methods take the host uuid and the
request body (a dict) and return the answer (a dict) or raise ``AgentFailure``. When ``blocking`` is
true the server runs them in a thread pool so a slow hypervisor call never stalls other requests.
"""
import re

from ..errors import invalid_request

STATES = ("Running", "Stopped", "Paused")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")

VM_OPS = ("start", "stop", "destroy", "pause", "resume", "reboot", "undefine", "vnc-port")


class Backend:
    name = "base"
    blocking = False

    def __init__(self, config):
        self.config = config
        self.events = None  # hostagent.events.EventReporter, set by the server

    # --- hosts ------------------------------------------------------------
    def secret_for(self, host_uuid):
        """The host's secret, or None when this agent does not serve that host."""
        raise NotImplementedError

    def portal_url(self, host_uuid):
        raise NotImplementedError

    def set_portal_url(self, host_uuid, url):
        raise NotImplementedError

    async def before_request(self, host_uuid, path):
        """Latency and fault injection (sim); may raise AgentFailure."""

    def start(self, loop):
        """Called once the event loop runs (libvirt: open the connection, start the event thread)."""

    def close(self):
        pass

    # --- operations ---------------------------------------------------------
    def facts(self, host_uuid):
        raise NotImplementedError

    def capacity(self, host_uuid):
        raise NotImplementedError

    def vm_states(self, host_uuid):
        raise NotImplementedError

    def vm_define(self, host_uuid, spec):
        raise NotImplementedError

    def vm_op(self, host_uuid, op, vm_uuid, body):
        raise NotImplementedError

    # --- metrics --------------------------------------------------------------
    def sample(self):
        """``{host_uuid: exposition.HostSample}``: one sample, taken now, of every host this agent
        serves and of the running VMs on it (hostagent.sampling calls it every interval)."""
        raise NotImplementedError


def require_vm_uuid(body):
    vm_uuid = body.get("vm_uuid")
    if not isinstance(vm_uuid, str) or not UUID_RE.match(vm_uuid):
        raise invalid_request("vm_uuid must be a UUID string", field="vm_uuid")
    return vm_uuid.lower()


def validate_define(body):
    vm_uuid = require_vm_uuid(body)
    spec = {"vm_uuid": vm_uuid}
    name = body.get("name", vm_uuid)
    if not isinstance(name, str):
        raise invalid_request("name must be a string", field="name")
    spec["name"] = name
    for field in ("cpu_num", "memory_size"):
        value = body.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise invalid_request(f"{field} must be a positive integer", field=field)
        spec[field] = value
    disk_path = body.get("disk_path")
    if disk_path is not None and (not isinstance(disk_path, str) or not disk_path.startswith("/")):
        raise invalid_request("disk_path must be an absolute path", field="disk_path")
    spec["disk_path"] = disk_path
    spec["disk_format"] = body.get("disk_format") or (
        "qcow2" if disk_path and disk_path.endswith(".qcow2") else "raw")
    spec["vnc"] = bool(body.get("vnc", True))
    spec["nics"] = _validate_nics(body.get("nics", []))
    boot = body.get("boot", ["hd", "network"] if spec["nics"] else ["hd"])
    if not isinstance(boot, list) or not boot or any(b not in BOOT_DEVICES for b in boot):
        raise invalid_request(f"boot must be a non-empty list of {', '.join(BOOT_DEVICES)}", field="boot")
    spec["boot"] = boot
    spec["vnc_password"] = _vnc_password(body.get("vnc_password"))
    start = body.get("start", False)
    if not isinstance(start, bool):
        raise invalid_request("start must be true or false", field="start")
    spec["start"] = start
    from . import domain_parts   # the optional parts (disks, ...), each in its own module

    domain_parts.validate(body, spec)
    return spec


BOOT_DEVICES = ("hd", "network", "cdrom")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
BRIDGE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # a Linux interface name
NIC_MODELS = ("virtio", "e1000", "rtl8139")


def _validate_nics(nics):
    """``[{"mac", "bridge", "model"?}]``: each NIC is a tap on a Linux bridge of the host."""
    if not isinstance(nics, list):
        raise invalid_request("nics must be a list", field="nics")
    checked = []
    for index, nic in enumerate(nics):
        if not isinstance(nic, dict):
            raise invalid_request(f"nics[{index}] must be an object", field="nics")
        mac = str(nic.get("mac", "")).lower()
        if not MAC_RE.match(mac):
            raise invalid_request(f"nics[{index}].mac must be a MAC address like fa:16:3e:00:00:01", field="nics")
        bridge = nic.get("bridge")
        if not isinstance(bridge, str) or not BRIDGE_RE.match(bridge):
            raise invalid_request(f"nics[{index}].bridge must be a Linux bridge name", field="nics")
        model = nic.get("model", "virtio")
        if model not in NIC_MODELS:
            raise invalid_request(f"nics[{index}].model must be one of {', '.join(NIC_MODELS)}", field="nics")
        checked.append({"mac": mac, "bridge": bridge, "model": model})
    return checked


VNC_PASSWORD_MAX = 8  # VNC authentication (RFB security type 2) uses the first 8 bytes only


def _vnc_password(value):
    """Optional: absent, null or "" means no password (an older portal sends none)."""
    if value in (None, ""):
        return None
    if (not isinstance(value, str) or len(value) > VNC_PASSWORD_MAX
            or not all(" " < ch < "\x7f" for ch in value)):
        raise invalid_request(f"vnc_password must be 1 to {VNC_PASSWORD_MAX} printable ASCII characters "
                              "without spaces", field="vnc_password")
    return value

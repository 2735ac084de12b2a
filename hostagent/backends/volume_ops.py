"""Data volumes on a domain: hot (and cold) attach and detach of a disk, and growing a volume.

Paths (docs/agent-protocol.md, "Data volumes"):

- ``/v1/vm/attach-disk`` ``{vm_uuid, disk: {path, format, bus, target, serial?, wwn?}}``: a running
  or paused domain gets the disk live and in its persistent definition; a stopped one in its
  definition only. Idempotent: a disk already at that target with that file answers at once.
- ``/v1/vm/detach-disk`` ``{vm_uuid, target, path?, timeout?}``: a running domain asks the guest to
  release the disk and waits up to ``timeout`` seconds for it to leave the live definition; only
  then is it removed from the persistent one. A virtio-blk unplug needs the guest's cooperation
  (ACPI/PCI hotplug); a virtio-scsi one does not. When the guest does not release it in time the
  answer is 409 ``DETACH_TIMEOUT`` and the domain keeps the disk in both definitions. Gone already:
  success.
- ``/v1/volume/resize`` ``{path, size, vm_uuid?, target?}``: grow only. With a running domain that
  has the disk at ``target``, QEMU grows it (``blockResize``, the guest sees the new size at once);
  otherwise ``qemu-img resize``.
"""
import re
import subprocess
import time
import xml.etree.ElementTree as ET

from ..errors import AgentFailure, invalid_request, vm_not_found
from .disks import TARGET_RE, disk_xml, validate_disk
from .routes import route
from .storage_base import _path, _size
from .storage_files import QEMU_IMG_TIMEOUT, qemu_img_info

DEFAULT_DETACH_TIMEOUT = 10.0
MAX_DETACH_TIMEOUT = 300.0
UUID_RE = re.compile(r"^[0-9a-fA-F-]{32,36}$")


# --- validation (both backends) -------------------------------------------------------------
def _vm_uuid(body, required=True):
    value = body.get("vm_uuid")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise invalid_request("vm_uuid must be a uuid", field="vm_uuid")
    return value


def _target(body, required=True):
    value = body.get("target")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not TARGET_RE.match(value):
        raise invalid_request("target must be a device name (vdb, sda, ...)", field="target")
    return value


def validate_attach(body):
    disk = validate_disk(body.get("disk"), None, field="disk")
    if disk["device"] != "disk" or disk["bus"] not in ("virtio", "scsi"):
        raise invalid_request("disk must be a disk on the virtio or scsi bus", field="disk")
    if "target" not in disk:
        raise invalid_request("disk.target is required (the portal keeps a volume's target stable)", field="disk")
    return {"vm_uuid": _vm_uuid(body), "disk": disk}


def validate_detach(body):
    timeout = body.get("timeout", DEFAULT_DETACH_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 <= timeout <= MAX_DETACH_TIMEOUT:
        raise invalid_request(f"timeout must be 0 to {MAX_DETACH_TIMEOUT:g} seconds", field="timeout")
    return {"vm_uuid": _vm_uuid(body), "target": _target(body), "path": _path(body, required=False),
            "timeout": float(timeout)}


def validate_resize(body):
    size = _size(body, "size", required=True)
    if not size:
        raise invalid_request("size must be a positive number of bytes", field="size")
    spec = {"path": _path(body), "size": size, "vm_uuid": _vm_uuid(body, required=False),
            "target": _target(body, required=False)}
    if (spec["vm_uuid"] is None) != (spec["target"] is None):
        raise invalid_request("give vm_uuid and target together (the running disk to grow)", field="target")
    return spec


def _shrink(path, current, size):
    return AgentFailure(409, "VOLUME_SHRINK_REFUSED", f"{path} is {current} bytes: a volume only grows "
                        f"(asked {size})", {"path": path, "size": current, "requested": size})


def _detach_timeout(vm_uuid, target, timeout):
    return AgentFailure(409, "DETACH_TIMEOUT", f"the guest of VM {vm_uuid} did not release disk {target} within "
                        f"{timeout:g}s (a virtio-blk unplug needs the guest's cooperation; the disk stays attached)",
                        {"vm_uuid": vm_uuid, "target": target, "timeout": timeout})


def _other_disk(vm_uuid, target, path):
    return AgentFailure(409, "TARGET_IN_USE", f"VM {vm_uuid} has another disk at {target}",
                        {"vm_uuid": vm_uuid, "target": target, "path": path})


# --- libvirt --------------------------------------------------------------------------------
def _libvirt():
    import libvirt

    return libvirt


def _disks_of(xml):
    """{target: source file or None} of a domain XML's disks."""
    root = ET.fromstring(xml)
    found = {}
    for disk in root.findall("./devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        if target is not None:
            found[target.get("dev")] = source.get("file") if source is not None else None
    return found, root


def _live_and_config(backend, dom):
    libvirt = _libvirt()
    live, live_root = _disks_of(backend._call(dom.XMLDesc, 0))
    config, _ = _disks_of(backend._call(dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE))
    return live, config, live_root


def libvirt_attach(backend, host_uuid, spec):
    libvirt = _libvirt()
    disk, vm_uuid = spec["disk"], spec["vm_uuid"]
    dom = backend._domain(vm_uuid)
    running = backend._state(dom) != "Stopped"
    live, config, live_root = _live_and_config(backend, dom)
    target = disk["target"]
    for disks in ((live, config) if running else (config,)):
        if target in disks and disks[target] != disk["path"]:
            raise _other_disk(vm_uuid, target, disks[target])
    xml = disk_xml(disk)
    if disk["bus"] == "scsi" and live_root.find("./devices/controller[@type='scsi']") is None:
        # no SCSI controller yet: a virtio-scsi one first (libvirt would add an LSI one by itself)
        controller = "<controller type='scsi' index='0' model='virtio-scsi'/>"
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if running else 0)
        backend._call(dom.attachDeviceFlags, controller, flags)
    if running and target not in live:
        backend._call(dom.attachDeviceFlags, xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    if target not in config:
        backend._call(dom.attachDeviceFlags, xml, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    return {"vm_uuid": vm_uuid, "target": target, "live": running}


def libvirt_detach(backend, host_uuid, spec):
    libvirt = _libvirt()
    vm_uuid, target = spec["vm_uuid"], spec["target"]
    try:
        dom = backend._domain(vm_uuid)
    except AgentFailure as exc:
        if exc.code == "VM_NOT_FOUND":
            return {"vm_uuid": vm_uuid, "target": target, "detached": False}
        raise
    running = backend._state(dom) != "Stopped"
    live, config, live_root = _live_and_config(backend, dom)
    for disks in (live, config):
        if spec["path"] and target in disks and disks[target] != spec["path"]:
            raise _other_disk(vm_uuid, target, disks[target])

    def element(xml_flags):
        root = ET.fromstring(backend._call(dom.XMLDesc, xml_flags))
        for disk in root.findall("./devices/disk"):
            if disk.find("target") is not None and disk.find("target").get("dev") == target:
                return ET.tostring(disk, encoding="unicode")
        return None

    if running and target in live:
        backend._call(dom.detachDeviceFlags, element(0), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        deadline = time.monotonic() + spec["timeout"]
        while target in _disks_of(backend._call(dom.XMLDesc, 0))[0]:
            if time.monotonic() >= deadline:
                raise _detach_timeout(vm_uuid, target, spec["timeout"])
            time.sleep(0.1)
    if target in config:
        backend._call(dom.detachDeviceFlags, element(libvirt.VIR_DOMAIN_XML_INACTIVE),
                      libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    return {"vm_uuid": vm_uuid, "target": target, "detached": True}


def libvirt_resize(backend, host_uuid, spec):
    libvirt = _libvirt()
    path, size = spec["path"], spec["size"]
    if spec["vm_uuid"] is not None:
        try:
            dom = backend._domain(spec["vm_uuid"])
        except AgentFailure as exc:
            if exc.code != "VM_NOT_FOUND":
                raise
            dom = None
        if dom is not None and backend._state(dom) != "Stopped":
            live, _ = _disks_of(backend._call(dom.XMLDesc, 0))
            if live.get(spec["target"]) == path:
                current = backend._call(dom.blockInfo, spec["target"])[0]
                if size < current:
                    raise _shrink(path, current, size)
                if size > current:
                    backend._call(dom.blockResize, spec["target"], size, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                return {"path": path, "size": backend._call(dom.blockInfo, spec["target"])[0], "online": True}
    try:
        info = qemu_img_info(path)
    except AgentFailure as exc:
        raise AgentFailure(404, "VOLUME_NOT_FOUND", f"no volume {path} on this host", {"path": path}) \
            if exc.code == "QEMU_IMG_FAILED" and "No such file" in exc.message else exc
    current = int(info.get("virtual-size") or 0)
    if size < current:
        raise _shrink(path, current, size)
    if size > current:
        result = subprocess.run(["qemu-img", "resize", "-q", "-f", info.get("format") or "qcow2", path, str(size)],
                                capture_output=True, text=True, timeout=QEMU_IMG_TIMEOUT)
        if result.returncode != 0:
            raise AgentFailure(500, "QEMU_IMG_FAILED", f"qemu-img resize {path}: {result.stderr.strip()}",
                               {"path": path})
    return {"path": path, "size": int(qemu_img_info(path).get("virtual-size") or size), "online": False}


# --- simulator: the disks live in the VM's spec, as a define put them ---------------------------
def _sim_vm(backend, host_uuid, vm_uuid):
    vm = backend._host(host_uuid).vms.get(vm_uuid)
    if vm is None:
        raise vm_not_found(vm_uuid)
    spec = vm.setdefault("spec", {})
    return vm, spec.setdefault("disks", [])


def sim_attach(backend, host_uuid, spec):
    vm, disks = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    disk = spec["disk"]
    same = next((d for d in disks if d.get("target") == disk["target"]), None)
    if same is not None and same.get("path") != disk["path"]:
        raise _other_disk(spec["vm_uuid"], disk["target"], same.get("path"))
    if same is None:
        disks.append(dict(disk))
    return {"vm_uuid": spec["vm_uuid"], "target": disk["target"], "live": vm["state"] != "Stopped"}


def sim_detach(backend, host_uuid, spec):
    try:
        _vm, disks = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    except AgentFailure as exc:
        if exc.code == "VM_NOT_FOUND":
            return {"vm_uuid": spec["vm_uuid"], "target": spec["target"], "detached": False}
        raise
    same = next((d for d in disks if d.get("target") == spec["target"]), None)
    if same is not None and spec["path"] and same.get("path") != spec["path"]:
        raise _other_disk(spec["vm_uuid"], spec["target"], same.get("path"))
    disks[:] = [d for d in disks if d.get("target") != spec["target"]]
    return {"vm_uuid": spec["vm_uuid"], "target": spec["target"], "detached": True}


def sim_resize(backend, host_uuid, spec):
    entry = backend._disk(host_uuid).files.get(spec["path"])
    if entry is None:
        raise AgentFailure(404, "VOLUME_NOT_FOUND", f"no volume {spec['path']} on this host", {"path": spec["path"]})
    if spec["size"] < entry["size"]:
        raise _shrink(spec["path"], entry["size"], spec["size"])
    entry["size"] = spec["size"]
    online = False
    if spec["vm_uuid"] is not None:
        vm = backend._host(host_uuid).vms.get(spec["vm_uuid"])
        online = vm is not None and vm["state"] != "Stopped"
    return {"path": spec["path"], "size": entry["size"], "online": online}


route("/v1/vm/attach-disk", validate_attach, libvirt=libvirt_attach, sim=sim_attach)
route("/v1/vm/detach-disk", validate_detach, libvirt=libvirt_detach, sim=sim_detach)
route("/v1/volume/resize", validate_resize, libvirt=libvirt_resize, sim=sim_resize)

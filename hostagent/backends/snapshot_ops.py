"""Volume snapshots as external qcow2 chains (``/v1/volume/snapshot``, ``/v1/volume/snapshot-undo``,
``/v1/volume/snapshot-merge``).

A snapshot freezes a volume's current top file: a new overlay whose backing file is that top becomes
the volume's file, and the old top is never written again. For a running domain libvirt does the
switch for every disk in one atomic call (an external, disk-only snapshot without libvirt metadata:
the portal keeps the tree); for a stopped one ``qemu-img create -b top`` makes each overlay.

Deleting a snapshot merges its file into its children: each child is rebased onto the snapshot's
own backing file (safe mode: the data the child sees through the snapshot is copied into it first),
then the file goes. A running domain whose chain holds the file pulls it into its active layer with
``blockRebase`` first (QEMU holds a lock on its files, so ``qemu-img`` cannot rewrite them). Every
step keeps what each remaining file shows unchanged, so a merge interrupted anywhere can be run again.
"""
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

from ..errors import AgentFailure, invalid_request
from . import routes
from .storage_base import _path

BLOCK_JOB_TIMEOUT = 600.0
QEMU_IMG_TIMEOUT = 600


# --- requests -------------------------------------------------------------------------------
def _vm_uuid(body):
    value = body.get("vm_uuid")
    if value is not None and (not isinstance(value, str) or not value):
        raise invalid_request("vm_uuid must be a string", field="vm_uuid")
    return value


def validate_snapshot(body):
    """``{"vm_uuid"?, "disks": [{"path": the current top, "overlay": the new top, "format"?}]}``."""
    disks = body.get("disks")
    if not isinstance(disks, list) or not disks:
        raise invalid_request("disks must be a non-empty list", field="disks")
    clean = []
    for index, disk in enumerate(disks):
        if not isinstance(disk, dict):
            raise invalid_request(f"disks[{index}] must be an object", field="disks")
        fmt = disk.get("format", "qcow2")
        if fmt not in ("qcow2", "raw"):
            raise invalid_request(f"disks[{index}].format must be qcow2 or raw", field="disks")
        item = {"path": _path(disk), "overlay": _path(disk, "overlay"), "format": fmt}
        if item["path"] == item["overlay"]:
            raise invalid_request(f"disks[{index}]: overlay must differ from path", field="disks")
        clean.append(item)
    return {"vm_uuid": _vm_uuid(body), "disks": clean}


def validate_merge(body):
    """``{"vm_uuid"?, "path": the snapshot's file, "children": [files backed by it]}``."""
    children = body.get("children", [])
    if not isinstance(children, list):
        raise invalid_request("children must be a list of paths", field="children")
    return {"vm_uuid": _vm_uuid(body), "path": _path(body),
            "children": [_path({"path": child}, "path") for child in children]}


# --- libvirt --------------------------------------------------------------------------------
def _failure(code, message, **details):
    return AgentFailure(500, code, message, details)


def _qemu_img(*argv):
    result = subprocess.run(["qemu-img", *argv], capture_output=True, text=True, timeout=QEMU_IMG_TIMEOUT)
    if result.returncode != 0:
        raise _failure("QEMU_IMG_FAILED", f"qemu-img {argv[0]}: {result.stderr.strip()}")
    return result.stdout


def _backing(backend, path):
    """(backing file, its format) of ``path`` as qemu-img reads it (None, None when it has none)."""
    from .storage_files import qemu_img_info

    info = qemu_img_info(path)
    backing = info.get("full-backing-filename") or info.get("backing-filename")
    return backing, info.get("backing-filename-format") or ("qcow2" if backing else None)


def _active_domain(backend, vm_uuid):
    """The running domain ``vm_uuid`` (None when there is none, or it is not running)."""
    if vm_uuid is None:
        return None
    import libvirt

    try:
        dom = backend.conn().lookupByUUIDString(vm_uuid)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise _failure("LIBVIRT_ERROR", str(exc))
    return dom if backend._call(dom.isActive) else None


def _disk_chains(backend, dom):
    """``{target: [active file, its backing, ...]}`` of the domain's file disks, as running now."""
    root = ET.fromstring(backend._call(dom.XMLDesc, 0))
    chains = {}
    for disk in root.findall("./devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        if target is None or source is None or source.get("file") is None:
            continue
        chain = [source.get("file")]
        store = disk.find("backingStore")
        while store is not None and store.find("source") is not None:
            chain.append(store.find("source").get("file"))
            store = store.find("backingStore")
        chains[target.get("dev")] = chain
    return chains


def _wait_block_job(backend, dom, target, ready=False):
    """Until the block job on ``target`` is gone (or, with ``ready``, has copied everything)."""
    deadline = time.monotonic() + BLOCK_JOB_TIMEOUT
    while time.monotonic() < deadline:
        info = backend._call(dom.blockJobInfo, target, 0)
        if not info:
            return
        if ready and info.get("end", 0) > 0 and info.get("cur") == info.get("end"):
            return
        time.sleep(0.05)
    raise _failure("BLOCK_JOB_TIMEOUT", f"the block job on {target} did not finish in {BLOCK_JOB_TIMEOUT:g}s",
                   target=target)


def libvirt_snapshot(backend, host_uuid, spec):
    import libvirt

    dom = _active_domain(backend, spec["vm_uuid"])
    if dom is None:
        made = []
        for disk in spec["disks"]:
            if not os.path.exists(disk["path"]):
                raise AgentFailure(404, "VOLUME_NOT_FOUND", f"no volume {disk['path']} on this host",
                                   {"path": disk["path"]})
            made.append(backend.volume_create(host_uuid, {
                "path": disk["overlay"], "backing_file": disk["path"], "backing_format": disk["format"],
                "format": "qcow2", "size": None}))
        return {"live": False, "disks": _with_frozen_sizes(made, spec, _allocated)}
    chains = _disk_chains(backend, dom)
    by_file = {chain[0]: target for target, chain in chains.items()}
    wanted = {}
    for disk in spec["disks"]:
        if disk["overlay"] in by_file:
            continue   # switched already (a retried request)
        if disk["path"] not in by_file:
            raise AgentFailure(409, "DISK_NOT_IN_DOMAIN", f"the running VM does not use {disk['path']}",
                               {"path": disk["path"], "vm_uuid": spec["vm_uuid"]})
        if os.path.exists(disk["overlay"]):
            os.remove(disk["overlay"])   # left by an attempt libvirt refused: it makes the file itself
        wanted[by_file[disk["path"]]] = disk["overlay"]
    if wanted:
        parts = []
        for target in chains:
            if target in wanted:
                parts.append(f"<disk name={quoteattr(target)} snapshot='external'><driver type='qcow2'/>"
                             f"<source file={quoteattr(wanted[target])}/></disk>")
            else:
                parts.append(f"<disk name={quoteattr(target)} snapshot='no'/>")
        xml = f"<domainsnapshot><memory snapshot='no'/><disks>{''.join(parts)}</disks></domainsnapshot>"
        flags = (libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
                 | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC)
        backend._call(dom.snapshotCreateXML, xml, flags)
    made = [backend._volume_answer(disk["overlay"]) for disk in spec["disks"]]
    return {"live": True, "disks": _with_frozen_sizes(made, spec, _allocated)}


def _allocated(path):
    """Bytes a file takes on its filesystem (qemu-img's actual size), read without opening it: a
    running domain holds the image lock of what it just stopped writing."""
    return os.stat(path).st_blocks * 512


def _with_frozen_sizes(made, spec, size_of):
    """Each answered disk with ``frozen_actual_size``: what its snapshot's (now read-only) file
    takes, which the portal counts on the primary storage."""
    return [{**answer, "frozen_actual_size": size_of(disk["path"])} for answer, disk in zip(made, spec["disks"])]


def libvirt_snapshot_undo(backend, host_uuid, spec):
    """Back to the files before ``/v1/volume/snapshot``: a running domain commits each overlay into
    the file below it and pivots there; then the overlays go."""
    import libvirt

    dom = _active_domain(backend, spec["vm_uuid"])
    if dom is not None:
        chains = _disk_chains(backend, dom)
        for disk in spec["disks"]:
            target = next((t for t, chain in chains.items() if chain[0] == disk["overlay"]), None)
            if target is None:
                continue
            backend._call(dom.blockCommit, target, None, None, 0,
                          libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE | libvirt.VIR_DOMAIN_BLOCK_COMMIT_SHALLOW)
            _wait_block_job(backend, dom, target, ready=True)
            backend._call(dom.blockJobAbort, target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
            _wait_block_job(backend, dom, target)
    removed = [backend.volume_delete(host_uuid, {"path": disk["overlay"]})["removed"] for disk in spec["disks"]]
    return {"removed": removed}


def libvirt_snapshot_merge(backend, host_uuid, spec):
    path = spec["path"]
    if not os.path.exists(path):
        return {"path": path, "removed": False}
    base, base_format = _backing(backend, path)
    dom = _active_domain(backend, spec["vm_uuid"])
    if dom is not None:
        for target, chain in _disk_chains(backend, dom).items():
            if path in chain[1:]:
                # stream everything above ``base`` into the active layer: the running chain no longer
                # holds the file, and what the guest sees is unchanged
                backend._call(dom.blockRebase, target, base, 0, 0)
                _wait_block_job(backend, dom, target)
            elif chain[0] == path:
                raise AgentFailure(409, "SNAPSHOT_IN_USE", f"{path} is the running VM's active file",
                                   {"path": path})
    rebased = []
    for child in spec["children"]:
        if not os.path.exists(child) or _backing(backend, child)[0] != path:
            continue   # gone, or no longer backed by the file (pulled live, or rebased by an earlier try)
        if base is None:
            _qemu_img("rebase", "-q", "-f", "qcow2", "-b", "", child)
        else:
            _qemu_img("rebase", "-q", "-f", "qcow2", "-b", base, "-F", base_format, child)
        rebased.append(child)
    os.remove(path)
    return {"path": path, "removed": True, "rebased": rebased, "backing_file": base}


# --- simulator ------------------------------------------------------------------------------
def _sim_vm(backend, host_uuid, vm_uuid):
    vm = backend._host(host_uuid).vms.get(vm_uuid) if vm_uuid else None
    return vm if vm is not None and vm["state"] != "Stopped" else None


def _sim_repoint(vm, old, new):
    """The simulated domain's disks follow a live snapshot (what ``virsh domblklist`` would show)."""
    spec = vm.get("spec") or {}
    for disk in spec.get("disks", []):
        if disk.get("path") == old:
            disk["path"] = new
    if spec.get("disk_path") == old:
        spec["disk_path"] = new
    if vm.get("disk_path") == old:
        vm["disk_path"] = new


def sim_snapshot(backend, host_uuid, spec):
    for disk in spec["disks"]:
        disk_files = backend._disk(host_uuid, disk["path"]).files   # a shared storage's files: its own disk
        if disk["path"] not in disk_files and disk["overlay"] not in disk_files:
            raise AgentFailure(404, "VOLUME_NOT_FOUND", f"no volume {disk['path']} on this host",
                               {"path": disk["path"]})
    vm = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    made = []
    for disk in spec["disks"]:
        made.append(backend.volume_create(host_uuid, {
            "path": disk["overlay"], "backing_file": disk["path"], "backing_format": disk["format"],
            "format": "qcow2", "size": None}))
        if vm is not None:
            _sim_repoint(vm, disk["path"], disk["overlay"])
    return {"live": vm is not None, "disks": _with_frozen_sizes(
        made, spec, lambda path: backend._disk(host_uuid, path).files[path]["actual_size"])}


def sim_snapshot_undo(backend, host_uuid, spec):
    vm = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    removed = []
    for disk in spec["disks"]:
        if vm is not None:
            _sim_repoint(vm, disk["overlay"], disk["path"])
        removed.append(backend.volume_delete(host_uuid, {"path": disk["overlay"]})["removed"])
    return {"removed": removed}


def sim_snapshot_merge(backend, host_uuid, spec):
    path = spec["path"]
    files = backend._disk(host_uuid, path).files
    entry = files.get(path)
    if entry is None:
        return {"path": path, "removed": False}
    vm = _sim_vm(backend, host_uuid, spec["vm_uuid"])
    if vm is not None and path in {d.get("path") for d in (vm.get("spec") or {}).get("disks", [])}:
        raise AgentFailure(409, "SNAPSHOT_IN_USE", f"{path} is the running VM's active file", {"path": path})
    rebased = []
    for child in spec["children"]:
        child_entry = files.get(child)
        if child_entry is None or child_entry["backing_file"] != path:
            continue
        child_entry["backing_file"] = entry["backing_file"]
        child_entry["actual_size"] += entry["actual_size"]   # the merged data lands in the child
        rebased.append(child)
    del files[path]
    return {"path": path, "removed": True, "rebased": rebased, "backing_file": entry["backing_file"]}


routes.route("/v1/volume/snapshot", validate_snapshot, libvirt=libvirt_snapshot, sim=sim_snapshot)
routes.route("/v1/volume/snapshot-undo", validate_snapshot, libvirt=libvirt_snapshot_undo, sim=sim_snapshot_undo)
routes.route("/v1/volume/snapshot-merge", validate_merge, libvirt=libvirt_snapshot_merge, sim=sim_snapshot_merge)

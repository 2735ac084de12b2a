"""Shared primary storage on a host: ``/v1/storage/mount`` and ``/v1/storage/unmount``.

Two kinds (docs/agent-protocol.md, "Shared primary storage"):

- ``shared`` (SharedMountPoint): the operator mounts the directory on every host (iSCSI/FC LUN
  with a cluster filesystem, a cluster FS...). The agent never mounts or unmounts it: it checks
  the directory is there and writable, and leaves it alone on unmount.
- ``nfs``: the agent mounts ``url`` (``server:/export``) at ``mount_point`` with mount.nfs, and
  unmounts it (then removes the empty directory) on unmount. Both are idempotent: mounting what
  is mounted from the same source answers at once; unmounting what is not mounted succeeds.

The simulator keeps, per host, which paths are mounts of which storage; the files under a mount
live in one table per storage (``storage_sim``), so every host mounting it sees the same files.
"""
import os
import re
import subprocess

from ..errors import AgentFailure, invalid_request
from . import routes
from .storage_base import _path
from .storage_files import _makedirs

MOUNT_TIMEOUT = 60
# host:/export (host: a name, IPv4 or [IPv6]); the export an absolute path
NFS_SOURCE_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(/[^\s\0]*)$")
OPTIONS_RE = re.compile(r"^[A-Za-z0-9_.=,:-]*$")


def validate_mount(body):
    kind = body.get("type")
    if kind not in ("shared", "nfs"):
        raise invalid_request("type must be shared or nfs", field="type")
    spec = {"type": kind, "mount_point": _path(body, "mount_point"), "url": None, "options": ""}
    if kind == "nfs":
        url = body.get("url")
        if not isinstance(url, str) or not NFS_SOURCE_RE.match(url):
            raise invalid_request("url must be server:/export", field="url")
        options = body.get("options") or ""
        if not isinstance(options, str) or not OPTIONS_RE.match(options):
            raise invalid_request("options must be a comma list of mount options", field="options")
        spec.update(url=url, options=options)
    return spec


def validate_unmount(body):
    kind = body.get("type")
    if kind not in ("shared", "nfs"):
        raise invalid_request("type must be shared or nfs", field="type")
    return {"type": kind, "mount_point": _path(body, "mount_point")}


# --- libvirt (real host) -------------------------------------------------------------------------

def _unescape(field):
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounted_source(mount_point):
    """The source mounted at ``mount_point`` (the last mount there), or None."""
    source = None
    try:
        with open("/proc/self/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) >= 3 and _unescape(fields[1]) == mount_point:
                    source = _unescape(fields[0])
    except OSError:
        return None
    return source


def nfs_mount_command(spec):
    """What the agent runs to mount an NFS primary storage (mount.nfs through mount(8))."""
    command = ["mount", "-t", "nfs"]
    if spec["options"]:
        command += ["-o", spec["options"]]
    return command + [spec["url"], spec["mount_point"]]


def _run(command, what, mount_point, code):
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=MOUNT_TIMEOUT)
    except FileNotFoundError:
        raise AgentFailure(500, code, f"{what}: {command[0]} is not installed on this host",
                           {"mount_point": mount_point}) from None
    except subprocess.TimeoutExpired:
        raise AgentFailure(504, code, f"{what}: no answer in {MOUNT_TIMEOUT} s", {"mount_point": mount_point}) from None
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
        raise AgentFailure(409, code, f"{what}: {message}", {"mount_point": mount_point})


def _writable(mount_point):
    if not os.access(mount_point, os.W_OK):
        raise AgentFailure(409, "STORAGE_PATH_UNUSABLE", f"{mount_point} is not writable by the agent",
                           {"path": mount_point})


def mount_libvirt(backend, host_uuid, spec):
    mount_point = spec["mount_point"]
    if spec["type"] == "shared":
        if not os.path.isdir(mount_point):
            raise AgentFailure(409, "MOUNT_POINT_MISSING",
                               f"{mount_point} is not a directory on this host (mount the shared storage there first)",
                               {"mount_point": mount_point})
        _writable(mount_point)
        return {"mount_point": mount_point, "type": "shared", "mounted": False}
    source = mounted_source(mount_point)
    if source is not None:
        if source.rstrip("/") != spec["url"].rstrip("/"):
            raise AgentFailure(409, "MOUNT_POINT_BUSY", f"{mount_point} has {source} mounted, not {spec['url']}",
                               {"mount_point": mount_point, "source": source})
        return {"mount_point": mount_point, "type": "nfs", "mounted": True, "already": True}
    _makedirs(mount_point)
    _run(nfs_mount_command(spec), f"mount {spec['url']} on {mount_point}", mount_point, "NFS_MOUNT_FAILED")
    _writable(mount_point)
    return {"mount_point": mount_point, "type": "nfs", "mounted": True, "already": False}


def unmount_libvirt(backend, host_uuid, spec):
    mount_point = spec["mount_point"]
    if spec["type"] == "shared":   # the operator's mount: never ours to undo
        return {"mount_point": mount_point, "unmounted": False}
    unmounted = False
    if mounted_source(mount_point) is not None:
        _run(["umount", mount_point], f"umount {mount_point}", mount_point, "NFS_UNMOUNT_FAILED")
        unmounted = True
    try:
        os.rmdir(mount_point)
    except OSError:
        pass   # gone already, or not empty (then it was never only our mount point): keep it
    return {"mount_point": mount_point, "unmounted": unmounted}


# --- simulator -----------------------------------------------------------------------------------

def _sim_mounts(backend, host_uuid):
    backend._host(host_uuid)   # 404 HOST_NOT_FOUND
    return backend.__dict__.setdefault("sim_mounts", {}).setdefault(host_uuid, {})


def sim_storage_key(spec):
    """Which simulated storage a mount is: hosts mounting the same key share files."""
    return f"nfs:{spec['url'].rstrip('/')}" if spec["type"] == "nfs" else f"shared:{spec['mount_point']}"


def mount_sim(backend, host_uuid, spec):
    mounts = _sim_mounts(backend, host_uuid)
    key = sim_storage_key(spec)
    existing = mounts.get(spec["mount_point"])
    if existing is not None and existing["key"] != key:
        raise AgentFailure(409, "MOUNT_POINT_BUSY", f"{spec['mount_point']} has another storage mounted",
                           {"mount_point": spec["mount_point"], "source": existing.get("url")})
    already = existing is not None
    mounts[spec["mount_point"]] = {"type": spec["type"], "url": spec["url"], "key": key,
                                   "command": nfs_mount_command(spec) if spec["type"] == "nfs" else None}
    return {"mount_point": spec["mount_point"], "type": spec["type"], "mounted": spec["type"] == "nfs",
            **({"already": already} if spec["type"] == "nfs" else {})}


def unmount_sim(backend, host_uuid, spec):
    gone = _sim_mounts(backend, host_uuid).pop(spec["mount_point"], None)
    return {"mount_point": spec["mount_point"], "unmounted": gone is not None and spec["type"] == "nfs"}


routes.route("/v1/storage/mount", validate_mount, libvirt=mount_libvirt, sim=mount_sim)
routes.route("/v1/storage/unmount", validate_unmount, libvirt=unmount_libvirt, sim=unmount_sim)

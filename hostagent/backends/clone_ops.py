"""Copying volumes for clones, turning a volume into an image, and swapping a volume's file
(docs/agent-protocol.md, "Clones and images from volumes").

- ``/v1/volume/copy`` ``{src, dst}``: a flattened qcow2 copy of ``src``'s whole chain at ``dst``
  (``qemu-img convert -O qcow2``). Made under a temporary name and renamed, so ``dst`` is whole or
  absent; ``dst`` already there is the answer (a retried request). QEMU's image locking refuses a
  file a running domain writes to (409 VOLUME_IN_USE): a copy is either consistent or not made.
- ``/v1/volume/convert-to-image`` ``{src, upload: {url, headers}}``: the same flattened copy into a
  temporary file beside ``src``, streamed with PUT to the portal's upload URL (the headers carry
  its signature, so nothing secret is in a URL or a log line), hashed on the way; the temporary
  file goes in every case. Answers ``{size, actual_size, sha256}`` of what was sent.
- ``/v1/volume/rename`` ``{src, dst}``: ``os.replace`` with idempotency (``src`` gone and ``dst``
  there: done already). Reinit swaps a root volume's file with it, and swaps it back on failure.

The simulator keeps the same bookkeeping in its file table and uploads a small, real qcow2 header
of the volume's virtual size (the portal checks what it receives as it does any image).
"""
import asyncio
import hashlib
import logging
import os
import struct
import subprocess
import urllib.error
import urllib.request
import uuid

from ..errors import AgentFailure, invalid_request
from . import routes
from .storage_base import _path

log = logging.getLogger("hostagent.clone")

CONVERT_TIMEOUT = 6 * 3600   # a big volume takes long; the portal's timeout for the path is the real limit
CHUNK = 1 << 20
LOCKED = ("Failed to get shared \"write\" lock", "Failed to get \"write\" lock", "Failed to get \"consistent read\"")


def _failure(status, code, message, **details):
    return AgentFailure(status, code, message, details)


# --- validation (both backends) ----------------------------------------------------------
def validate_copy(body):
    spec = {"src": _path(body, "src"), "dst": _path(body, "dst")}
    if spec["src"] == spec["dst"]:
        raise invalid_request("src and dst must differ", field="dst")
    return spec


def validate_convert(body):
    upload = body.get("upload")
    if not isinstance(upload, dict) or not isinstance(upload.get("url"), str) \
            or not upload["url"].startswith(("http://", "https://")):
        raise invalid_request("upload must be {url: an http(s) URL, headers: {...}}", field="upload")
    headers = upload.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise invalid_request("upload.headers must map strings to strings", field="upload")
    return {"src": _path(body, "src"), "upload": {"url": upload["url"], "headers": headers}}


def validate_rename(body):
    return validate_copy(body)


# --- libvirt backend: real files ----------------------------------------------------------
def _qemu_img_convert(src, dst):
    argv = ["qemu-img", "convert", "-q", "-O", "qcow2", src, dst]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=CONVERT_TIMEOUT)
    except FileNotFoundError:
        raise _failure(500, "QEMU_IMG_MISSING", "qemu-img is not installed on this host") from None
    if result.returncode != 0:
        err = result.stderr.strip()
        if any(marker in err for marker in LOCKED):
            raise _failure(409, "VOLUME_IN_USE", f"{src} is in use by a running domain: stop the VM or copy "
                                                 "from a snapshot", path=src)
        raise _failure(500, "QEMU_IMG_FAILED", f"qemu-img convert {src}: {err}", path=src)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _need(path):
    if not os.path.exists(path):
        raise _failure(404, "VOLUME_NOT_FOUND", f"no volume {path} on this host", path=path)


def _answer(backend, path):
    return backend._volume_answer(path)   # FileStorageMixin: qemu-img info as the storage paths answer it


def libvirt_copy(backend, host_uuid, spec):
    src, dst = spec["src"], spec["dst"]
    if os.path.exists(dst):
        return _answer(backend, dst)
    _need(src)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    temp = f"{dst}.part-{uuid.uuid4().hex[:12]}"
    try:
        _qemu_img_convert(src, temp)
        os.replace(temp, dst)
    finally:
        _remove(temp)
    log.info("copied %s to %s (flattened)", src, dst)
    return _answer(backend, dst)


def _put(upload, path):
    """Stream ``path`` to the portal with PUT; ``(bytes, sha256)`` of what was sent. The body is
    read in chunks from a generator, so a large image never sits in memory."""
    size = os.path.getsize(path)
    digest = hashlib.sha256()

    def chunks():
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                yield chunk

    request = urllib.request.Request(upload["url"], data=chunks(), method="PUT", headers={
        **upload["headers"], "Content-Type": "application/octet-stream", "Content-Length": str(size)})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - http(s) checked
            response.read()
    except urllib.error.HTTPError as exc:
        raise _failure(422, "IMAGE_UPLOAD_FAILED", f"the portal answered {exc.code} {exc.reason} to the upload",
                       status=exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise _failure(422, "IMAGE_UPLOAD_FAILED", f"cannot upload the image to the portal: {reason}") from None
    return size, digest.hexdigest()


def libvirt_convert(backend, host_uuid, spec):
    src = spec["src"]
    _need(src)
    temp = os.path.join(os.path.dirname(src), f".image-{uuid.uuid4().hex[:12]}.qcow2")
    try:
        _qemu_img_convert(src, temp)
        info = backend._volume_answer(temp)
        sent, sha256 = _put(spec["upload"], temp)
    finally:
        _remove(temp)
    log.info("uploaded %s as an image (%d bytes)", src, sent)
    return {"src": src, "format": "qcow2", "size": info["size"], "actual_size": sent, "sha256": sha256}


def _rename_done(src, dst):
    return not os.path.exists(src) and os.path.exists(dst)


def libvirt_rename(backend, host_uuid, spec):
    src, dst = spec["src"], spec["dst"]
    if _rename_done(src, dst):
        return {"src": src, "dst": dst, "renamed": False}
    _need(src)
    os.replace(src, dst)
    return {"src": src, "dst": dst, "renamed": True}


# --- simulator: bookkeeping and a real qcow2 header ------------------------------------------
QCOW2_CLUSTER_BITS = 16


def sim_qcow2_bytes(virtual_size):
    """An empty qcow2 (version 2) of ``virtual_size`` bytes that ``qemu-img check`` finds clean."""
    cluster = 1 << QCOW2_CLUSTER_BITS
    per_l1 = cluster * (cluster // 8)
    l1_size = max(1, -(-virtual_size // per_l1))
    header = struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", 2, 0, 0, QCOW2_CLUSTER_BITS, virtual_size, 0, l1_size,
                         cluster, 2 * cluster, 1, 0, 0)
    data = bytearray(4 * cluster)   # header, L1 table, refcount table, refcount block
    data[:len(header)] = header
    struct.pack_into(">Q", data, 2 * cluster, 3 * cluster)
    for index in range(4):   # 16-bit refcounts: each of the four clusters is used once
        struct.pack_into(">H", data, 3 * cluster + 2 * index, 1)
    return bytes(data)


def _sim_entry(backend, host_uuid, path):
    entry = backend._disk(host_uuid, path).files.get(path)
    if entry is None:
        raise _failure(404, "VOLUME_NOT_FOUND", f"no volume {path} on this host", path=path)
    return entry


def _sim_in_use(backend, host_uuid, path):
    """A running (or paused) simulated domain has ``path`` as a disk: QEMU would hold its lock."""
    for vm in backend._host(host_uuid).vms.values():
        if vm["state"] == "Stopped":
            continue
        spec = vm.get("spec") or {}
        if path == spec.get("disk_path") or any(d.get("path") == path for d in spec.get("disks") or ()):
            return True
    return False


def _sim_flat_size(disk, entry):
    """Bytes a flattened copy takes: the chain's allocated data (image + overlays)."""
    total, seen = 0, 0
    while entry is not None and seen < 64:
        total += entry["actual_size"]
        entry = disk.files.get(entry["backing_file"]) if entry["backing_file"] else None
        seen += 1
    return total


def sim_copy(backend, host_uuid, spec):
    src, dst = spec["src"], spec["dst"]
    # each path on its own disk: a shared storage's files are on the disk every host mounting it sees
    disk = backend._disk(host_uuid, dst)
    if dst in disk.files:
        return backend._sim_volume(dst, disk.files[dst])
    entry = _sim_entry(backend, host_uuid, src)
    if _sim_in_use(backend, host_uuid, src):
        raise _failure(409, "VOLUME_IN_USE", f"{src} is in use by a running domain", path=src)
    actual = _sim_flat_size(backend._disk(host_uuid, src), entry)
    if disk.size - disk.used() < actual:
        raise _failure(409, "NOT_ENOUGH_SPACE", f"{actual} bytes do not fit", path=dst)
    disk.files[dst] = {"size": entry["size"], "actual_size": actual, "format": "qcow2", "backing_file": None}
    return backend._sim_volume(dst, disk.files[dst])


async def sim_convert(backend, host_uuid, spec):
    """Uploads a real (empty) qcow2 of the volume's virtual size: the portal's checks run on it."""
    import aiohttp

    entry = _sim_entry(backend, host_uuid, spec["src"])
    if _sim_in_use(backend, host_uuid, spec["src"]):
        raise _failure(409, "VOLUME_IN_USE", f"{spec['src']} is in use by a running domain", path=spec["src"])
    data = sim_qcow2_bytes(entry["size"])
    upload = spec["upload"]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.put(upload["url"], data=data, headers={
                    **upload["headers"], "Content-Type": "application/octet-stream"}) as response:
                await response.read()
                if response.status >= 400:
                    raise _failure(422, "IMAGE_UPLOAD_FAILED",
                                   f"the portal answered {response.status} {response.reason} to the upload",
                                   status=response.status)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise _failure(422, "IMAGE_UPLOAD_FAILED", f"cannot upload the image to the portal: {exc}") from None
    return {"src": spec["src"], "format": "qcow2", "size": entry["size"], "actual_size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def sim_rename(backend, host_uuid, spec):
    src, dst = spec["src"], spec["dst"]
    files = backend._disk(host_uuid, src).files
    if src not in files and dst in files:
        return {"src": src, "dst": dst, "renamed": False}
    _sim_entry(backend, host_uuid, src)
    files[dst] = files.pop(src)
    return {"src": src, "dst": dst, "renamed": True}


routes.route("/v1/volume/copy", validate_copy, libvirt=libvirt_copy, sim=sim_copy)
routes.route("/v1/volume/convert-to-image", validate_convert, libvirt=libvirt_convert, sim=sim_convert)
routes.route("/v1/volume/rename", validate_rename, libvirt=libvirt_rename, sim=sim_rename)

"""Storage on a real host: plain files in a directory (local primary storage) and qemu-img.

Used by the libvirt backend. Files, not libvirt storage pools: a pool would have to be defined,
started and refreshed for every primary storage path on every host, and volumes outside a pool are
what the domain XML points at anyway (ZStack's kvmagent works on files with qemu-img the same way).
Every operation is idempotent: creating what exists answers at once, deleting what is gone succeeds.
Writes go to a temporary name in the same directory and are renamed into place, so a crash never
leaves a half file under the real name.
"""
import hashlib
import json
import logging
import os
import subprocess
import urllib.error
import urllib.request
import uuid

from ..errors import AgentFailure

log = logging.getLogger("hostagent.storage")

CHUNK = 1 << 20
QEMU_IMG_TIMEOUT = 120
VOLUME_DIR_PREFIX = "vol-"


def _failure(http_status, code, message, **details):
    return AgentFailure(http_status, code, message, details)


def qemu_img_info(path):
    try:
        result = subprocess.run(["qemu-img", "info", "--output=json", "-U", path], capture_output=True,
                                text=True, timeout=QEMU_IMG_TIMEOUT)
    except FileNotFoundError:
        raise _failure(500, "QEMU_IMG_MISSING", "qemu-img is not installed on this host") from None
    if result.returncode != 0:
        raise _failure(500, "QEMU_IMG_FAILED", f"qemu-img info {path}: {result.stderr.strip()}", path=path)
    return json.loads(result.stdout)


def _makedirs(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise _failure(409, "STORAGE_PATH_UNUSABLE", f"cannot create {path}: {exc.strerror}", path=path) from None


def _temp_name(path):
    return f"{path}.part-{uuid.uuid4().hex[:12]}"


def _remove(path):
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _failure(500, "STORAGE_IO_ERROR", f"cannot remove {path}: {exc.strerror}", path=path) from None


def _remove_volume_dir(directory):
    """The portal keeps each volume in a directory of its own (``.../vol-<uuid>/``): once empty it
    goes with the volume (also when the file went earlier), else expunged VMs leave one each."""
    if not os.path.basename(directory).startswith(VOLUME_DIR_PREFIX):
        return
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        pass
    except OSError as exc:  # not empty (something else lives there) or not ours to remove: keep it
        log.info("kept %s: %s", directory, exc.strerror)


class FileStorageMixin:
    """Implements the storage methods of ``storage_base.STORAGE_ROUTES`` on the local filesystem."""

    def storage_capacity(self, host_uuid, spec):
        path = spec["path"]
        _makedirs(path)
        if not os.access(path, os.W_OK):
            raise _failure(409, "STORAGE_PATH_UNUSABLE", f"{path} is not writable by the agent", path=path)
        st = os.statvfs(path)
        return {"path": path, "total": st.f_blocks * st.f_frsize, "available": st.f_bavail * st.f_frsize}

    def image_cache(self, host_uuid, spec):
        """Download ``url`` to ``path`` unless it is there; the bits must hash to ``sha256``."""
        path = spec["path"]
        if os.path.exists(path):
            return {"path": path, "sha256": spec["sha256"], "actual_size": os.path.getsize(path), "cached": True}
        _makedirs(os.path.dirname(path))
        if spec["size"]:
            st = os.statvfs(os.path.dirname(path))
            if st.f_bavail * st.f_frsize < spec["size"]:
                raise _failure(409, "NOT_ENOUGH_SPACE", f"{spec['size']} bytes do not fit in {os.path.dirname(path)}",
                               path=path, size=spec["size"])
        temp = _temp_name(path)
        digest = hashlib.sha256()
        size = 0
        try:
            try:
                with urllib.request.urlopen(spec["url"], timeout=60) as response, open(temp, "wb") as out:
                    while True:
                        chunk = response.read(CHUNK)
                        if not chunk:
                            break
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            except urllib.error.HTTPError as exc:
                raise _failure(422, "IMAGE_DOWNLOAD_FAILED", f"the image server answered {exc.code} {exc.reason}",
                               status=exc.code) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
                raise _failure(422, "IMAGE_DOWNLOAD_FAILED", f"cannot download the image: {reason}") from None
            if digest.hexdigest() != spec["sha256"]:
                raise _failure(422, "IMAGE_CHECKSUM_MISMATCH",
                               f"the downloaded bits hash to {digest.hexdigest()}, expected {spec['sha256']}",
                               expected=spec["sha256"], actual=digest.hexdigest())
            os.replace(temp, path)
        finally:
            _remove(temp)
        log.info("cached image %s at %s (%d bytes)", spec["sha256"][:12], path, size)
        return {"path": path, "sha256": spec["sha256"], "actual_size": size, "cached": False}

    def image_uncache(self, host_uuid, spec):
        return {"path": spec["path"], "removed": _remove(spec["path"])}

    def _volume_answer(self, path, info=None):
        info = info or qemu_img_info(path)
        return {"path": path, "format": info.get("format"), "size": info.get("virtual-size"),
                "actual_size": info.get("actual-size"),
                "backing_file": info.get("full-backing-filename") or info.get("backing-filename")}

    def volume_create(self, host_uuid, spec):
        path = spec["path"]
        if os.path.exists(path):
            answer = self._volume_answer(path)
            if answer["backing_file"] != spec["backing_file"]:
                raise _failure(409, "VOLUME_EXISTS", f"{path} exists with another backing file", path=path,
                               backing_file=answer["backing_file"])
            return answer
        backing = spec["backing_file"]
        if backing is not None and not os.path.exists(backing):
            raise _failure(404, "BACKING_FILE_NOT_FOUND", f"no backing file {backing} on this host", path=backing)
        _makedirs(os.path.dirname(path))
        temp = _temp_name(path)
        argv = ["qemu-img", "create", "-q", "-f", spec["format"]]
        if backing is not None:
            argv += ["-b", backing, "-F", spec["backing_format"]]
        argv.append(temp)
        if spec["size"]:
            argv.append(str(spec["size"]))
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=QEMU_IMG_TIMEOUT)
            if result.returncode != 0:
                raise _failure(500, "QEMU_IMG_FAILED", f"qemu-img create {path}: {result.stderr.strip()}", path=path)
            os.replace(temp, path)
        finally:
            _remove(temp)
        return self._volume_answer(path)

    def volume_delete(self, host_uuid, spec):
        removed = _remove(spec["path"])
        _remove_volume_dir(os.path.dirname(spec["path"]))
        return {"path": spec["path"], "removed": removed}

    def volume_info(self, host_uuid, spec):
        if not os.path.exists(spec["path"]):
            raise _failure(404, "VOLUME_NOT_FOUND", f"no volume {spec['path']} on this host", path=spec["path"])
        return self._volume_answer(spec["path"])


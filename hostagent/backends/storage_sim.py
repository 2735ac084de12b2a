"""Storage in the simulator: per simulated host, a disk of ``storage_size`` bytes (``POST /sim/hosts``
accepts it; default 1 TiB) shared by every path, and a table of files (path -> sizes). Nothing is
downloaded: a cached image takes the ``size`` the portal sends. Same answers and errors as
``storage_files`` so the portal cannot tell; fault injection applies as on every /v1/ path."""
from ..errors import AgentFailure

DEFAULT_STORAGE_SIZE = 1 << 40
OVERLAY_ACTUAL_SIZE = 196608   # what qemu-img create -f qcow2 writes for an empty overlay


class _SimDisk:
    __slots__ = ("size", "files")

    def __init__(self, size):
        self.size = size
        self.files = {}   # path -> {"size": virtual, "actual_size": bytes, "format", "backing_file"}

    def used(self):
        return sum(f["actual_size"] for f in self.files.values())


class SimStorageMixin:
    def storage_host_added(self, host_uuid, body):
        size = body.get("storage_size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
            raise AgentFailure(400, "INVALID_REQUEST", "storage_size must be a positive integer")
        self.__dict__.setdefault("sim_disks", {})[host_uuid] = _SimDisk(size or DEFAULT_STORAGE_SIZE)

    def storage_host_removed(self, host_uuid):
        self.__dict__.setdefault("sim_disks", {}).pop(host_uuid, None)
        self.__dict__.setdefault("sim_mounts", {}).pop(host_uuid, None)

    def _disk(self, host_uuid, path=None):
        """The simulated disk ``path`` is on: a shared storage's (every host mounting it sees the
        same files; ``shared_storage``'s mounts) when ``path`` is under one of the host's mount
        points, else the host's own."""
        self._host(host_uuid)  # 404 HOST_NOT_FOUND
        if path is not None:
            for mount_point, mount in self.__dict__.get("sim_mounts", {}).get(host_uuid, {}).items():
                if path == mount_point or path.startswith(mount_point.rstrip("/") + "/"):
                    shared = self.__dict__.setdefault("sim_shared_disks", {})
                    if mount["key"] not in shared:
                        shared[mount["key"]] = _SimDisk(DEFAULT_STORAGE_SIZE)
                    return shared[mount["key"]]
        disks = self.__dict__.setdefault("sim_disks", {})
        if host_uuid not in disks:
            disks[host_uuid] = _SimDisk(DEFAULT_STORAGE_SIZE)
        return disks[host_uuid]

    def storage_capacity(self, host_uuid, spec):
        disk = self._disk(host_uuid, spec["path"])
        return {"path": spec["path"], "total": disk.size, "available": disk.size - disk.used()}

    def image_cache(self, host_uuid, spec):
        path = spec["path"]
        disk = self._disk(host_uuid, path)
        existing = disk.files.get(path)
        if existing is not None:
            return {"path": path, "sha256": spec["sha256"], "actual_size": existing["actual_size"], "cached": True}
        size = spec["size"] or 0
        if disk.size - disk.used() < size:
            raise AgentFailure(409, "NOT_ENOUGH_SPACE", f"{size} bytes do not fit", {"path": path, "size": size})
        disk.files[path] = {"size": size, "actual_size": size, "format": "raw", "backing_file": None}
        return {"path": path, "sha256": spec["sha256"], "actual_size": size, "cached": False}

    def image_uncache(self, host_uuid, spec):
        removed = self._disk(host_uuid, spec["path"]).files.pop(spec["path"], None)
        return {"path": spec["path"], "removed": removed is not None}

    def _sim_volume(self, path, entry):
        return {"path": path, "format": entry["format"], "size": entry["size"], "actual_size": entry["actual_size"],
                "backing_file": entry["backing_file"]}

    def volume_create(self, host_uuid, spec):
        path, backing = spec["path"], spec["backing_file"]
        disk = self._disk(host_uuid, path)
        existing = disk.files.get(path)
        if existing is not None:
            if existing["backing_file"] != backing:
                raise AgentFailure(409, "VOLUME_EXISTS", f"{path} exists with another backing file",
                                   {"path": path, "backing_file": existing["backing_file"]})
            return self._sim_volume(path, existing)
        size = spec["size"] or 0
        if backing is not None:
            base = disk.files.get(backing)
            if base is None:
                raise AgentFailure(404, "BACKING_FILE_NOT_FOUND", f"no backing file {backing} on this host",
                                   {"path": backing})
            size = max(size, base["size"])
        actual = OVERLAY_ACTUAL_SIZE if spec["format"] == "qcow2" else size
        if disk.size - disk.used() < actual:
            raise AgentFailure(409, "NOT_ENOUGH_SPACE", f"{actual} bytes do not fit", {"path": path})
        entry = disk.files[path] = {"size": size, "actual_size": actual, "format": spec["format"],
                                    "backing_file": backing}
        return self._sim_volume(path, entry)

    def volume_delete(self, host_uuid, spec):
        removed = self._disk(host_uuid, spec["path"]).files.pop(spec["path"], None)
        return {"path": spec["path"], "removed": removed is not None}

    def volume_info(self, host_uuid, spec):
        entry = self._disk(host_uuid, spec["path"]).files.get(spec["path"])
        if entry is None:
            raise AgentFailure(404, "VOLUME_NOT_FOUND", f"no volume {spec['path']} on this host", {"path": spec["path"]})
        return self._sim_volume(spec["path"], entry)

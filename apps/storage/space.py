"""Room for a volume on a primary storage, and the host whose agent reaches a volume's file.

Everything that creates, copies or deletes a volume outside the VM create flow (data volumes,
snapshots, clones, migration) goes through these, so each kind of primary storage says in one
place how its capacity is counted and which host can reach its files:

- LocalStorage: per host (``LocalStorageHostRef``); a volume's file is on ``volume.host`` only.
- shared kinds (SharedMountPoint, NFS): per primary storage; any connected host of a cluster the
  storage is attached to reaches every file.
"""
from apps.infra.models import HostStatus

from .errors import NoPrimaryStorageCapacity
from .models import LocalStorageHostRef, PrimaryStorageType


def is_local(primary_storage):
    return primary_storage.type == PrimaryStorageType.LOCAL_STORAGE


def reserve(primary_storage, host, size):
    """Take ``size`` bytes of ``primary_storage`` (on ``host`` for local storage) in one conditional
    UPDATE; raises NoPrimaryStorageCapacity (422) when they do not fit."""
    ref = LocalStorageHostRef.for_host(primary_storage, host)
    if ref is None or not ref.reserve(size):
        raise NoPrimaryStorageCapacity(
            f"primary storage {primary_storage.name} has not {size} bytes free on host {host.name}",
            details={"primary_storage_uuid": str(primary_storage.uuid), "host_uuid": str(host.uuid), "size": size})


def release(primary_storage, host, size):
    ref = LocalStorageHostRef.for_host(primary_storage, host) if host is not None else None
    if ref is not None:
        ref.release(size)


def host_for(volume):
    """The host to ask about ``volume``'s file: its own host for local storage (None when it has
    none); for shared storage, its host if connected, else any connected host that mounts it."""
    if volume.host is not None and (is_local(volume.primary_storage) or volume.host.status == HostStatus.CONNECTED):
        return volume.host
    return None

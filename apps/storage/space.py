"""Room for a volume on a primary storage, and the host whose agent reaches a volume's file.

Everything that creates, copies or deletes a volume outside the VM create flow (data volumes,
snapshots, clones, migration) goes through these, so each kind of primary storage says in one
place how its capacity is counted and which host can reach its files:

- LocalStorage: per host (``LocalStorageHostRef``); a volume's file is on ``volume.host`` only.
- shared kinds (SharedMountPoint, NFS): per primary storage (its own ``used_capacity`` against
  ``total_capacity`` times the over-provisioning ratio); any connected host of a cluster the
  storage is attached to reaches every file.
"""
from django.db.models import F

from apps.infra.models import Host, HostStatus

from .errors import NoPrimaryStorageCapacity
from .globalconfig import OVER_PROVISIONING
from .models import LocalStorageHostRef, PrimaryStorage, PrimaryStorageType

SHARED_TYPES = (PrimaryStorageType.SHARED_MOUNT_POINT, PrimaryStorageType.NFS)


def is_local(primary_storage):
    return primary_storage.type == PrimaryStorageType.LOCAL_STORAGE


def ratio(primary_storage):
    """The over-provisioning ratio in force for a shared storage (its own override, its zone's, global)."""
    return float(OVER_PROVISIONING.value(primary_storage))


def offered(primary_storage):
    """Bytes a shared storage offers: its total capacity times the ratio."""
    return int(primary_storage.total_capacity * ratio(primary_storage))


def available(primary_storage):
    """Bytes a shared storage can still give (its row's figures as read)."""
    return offered(primary_storage) - primary_storage.used_capacity


def take_shared(primary_storage, size):
    """One conditional UPDATE: ``size`` more bytes used if they fit under total × ratio; bool."""
    return bool(PrimaryStorage.objects.filter(
        pk=primary_storage.pk, used_capacity__lte=F("total_capacity") * ratio(primary_storage) - size).update(
        used_capacity=F("used_capacity") + size))


def give_back_shared(primary_storage_id, size):
    PrimaryStorage.objects.filter(pk=primary_storage_id, used_capacity__gte=size).update(
        used_capacity=F("used_capacity") - size)


def reserve(primary_storage, host, size):
    """Take ``size`` bytes of ``primary_storage`` (on ``host`` for local storage) in one conditional
    UPDATE; raises NoPrimaryStorageCapacity (422) when they do not fit."""
    size = int(size)
    if not is_local(primary_storage):
        if not take_shared(primary_storage, size):
            raise NoPrimaryStorageCapacity(
                f"primary storage {primary_storage.name} has not {size} bytes free",
                details={"primary_storage_uuid": str(primary_storage.uuid), "size": size})
        return
    ref = LocalStorageHostRef.for_host(primary_storage, host)
    if ref is None or not ref.reserve(size):
        raise NoPrimaryStorageCapacity(
            f"primary storage {primary_storage.name} has not {size} bytes free on host {host.name}",
            details={"primary_storage_uuid": str(primary_storage.uuid), "host_uuid": str(host.uuid), "size": size})


def release(primary_storage, host, size):
    if not is_local(primary_storage):
        give_back_shared(primary_storage.pk, int(size))
        return
    ref = LocalStorageHostRef.for_host(primary_storage, host) if host is not None else None
    if ref is not None:
        ref.release(size)


def carry(primary_storage, host, size):
    """Count ``size`` more bytes without the capacity check: data that exists already and has moved
    (a merged snapshot's into a second child), which a refusal could not undo."""
    size = int(size)
    if size <= 0:
        return
    if not is_local(primary_storage):
        PrimaryStorage.objects.filter(pk=primary_storage.pk).update(used_capacity=F("used_capacity") + size)
        return
    ref = LocalStorageHostRef.for_host(primary_storage, host) if host is not None else None
    if ref is not None:
        LocalStorageHostRef.objects.filter(pk=ref.pk).update(used_capacity=F("used_capacity") + size)


def reaching_hosts(primary_storage):
    """Connected hosts of the clusters a shared storage is attached to (they mount it)."""
    return Host.objects.filter(cluster__primary_storages=primary_storage, status=HostStatus.CONNECTED)


def agent_host(primary_storage, preferred=None):
    """A host whose agent reaches ``primary_storage``'s files: ``preferred`` for local storage (its
    files are there only); for shared storage ``preferred`` when it is connected and mounts the
    storage, else any connected host that does; None when there is none."""
    if is_local(primary_storage):
        return preferred
    hosts = reaching_hosts(primary_storage)
    if preferred is not None and preferred.status == HostStatus.CONNECTED and hosts.filter(pk=preferred.pk).exists():
        return preferred
    return hosts.order_by("id").first()


def host_for(volume):
    """The host to ask about ``volume``'s file: its own host for local storage (None when it has
    none); for shared storage, its host if connected, else any connected host that mounts it."""
    if is_local(volume.primary_storage):
        return volume.host
    return agent_host(volume.primary_storage, volume.host)

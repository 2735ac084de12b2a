"""Per-host capacity of local primary storage, read from the host agents (/v1/storage/capacity)."""
from django.db import IntegrityError, transaction

from apps.infra import agent
from apps.infra.models import HostStatus

from .models import LocalStorageHostRef, PrimaryStorage, PrimaryStorageType


def refresh_host_ref(primary_storage, host):
    """Ask ``host``'s agent for the figures of ``primary_storage.url`` and upsert its row;
    ``(ref, created)``. Never touches ``used_capacity``."""
    answer = agent.call(host, "/v1/storage/capacity", {"path": primary_storage.url})
    total, available = int(answer["total"]), int(answer["available"])
    updated = LocalStorageHostRef.objects.filter(primary_storage=primary_storage, host=host).update(
        total_capacity=total, available_physical_capacity=available)
    if updated:
        return LocalStorageHostRef.objects.get(primary_storage=primary_storage, host=host), False
    try:
        with transaction.atomic():
            return LocalStorageHostRef.objects.create(primary_storage=primary_storage, host=host,
                                                      total_capacity=total,
                                                      available_physical_capacity=available), True
    except IntegrityError:   # created meanwhile by a concurrent connect
        return LocalStorageHostRef.objects.get(primary_storage=primary_storage, host=host), False


def connected_hosts(cluster):
    return list(cluster.hosts.filter(status=HostStatus.CONNECTED))


def local_storages_of(host):
    return list(PrimaryStorage.objects.filter(clusters=host.cluster_id, type=PrimaryStorageType.LOCAL_STORAGE))


def on_host_connected(host):
    """The host connect hook: every local primary storage attached to its cluster gets its row."""
    for primary_storage in local_storages_of(host):
        refresh_host_ref(primary_storage, host)

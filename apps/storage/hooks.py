"""Storage's part in other apps' flows: compute's host connect hooks, and the image caches that
go when a host or primary storage is deleted."""


def fill_local_storage_capacity(host):
    """ZStack's KVMHostConnectExtensionPoint for local storage: a connecting host reports the
    capacity of every local primary storage of its cluster (a failure fails the connect)."""
    from .capacity import on_host_connected

    on_host_connected(host)


def remove_host_image_caches(host):
    """Deleting a host: the image caches on it go (files and rows), before its agent does."""
    from .cache import remove_unused
    from .models import ImageCache

    return remove_unused(ImageCache.objects.filter(host=host))


def remove_primary_storage_image_caches(primary_storage):
    """Deleting a primary storage: its image caches go from every host."""
    from .cache import remove_unused

    return remove_unused(primary_storage.image_caches.all())


def mount_shared_storage(host):
    """A connecting host mounts the shared primary storages of its cluster (NFS: the agent mounts
    the export; SharedMountPoint: the agent checks the directory) and reports their capacity."""
    from .shared import on_host_connected

    on_host_connected(host)


def unmount_deleted_shared_storage(primary_storage):
    """Deleting an NFS primary storage still attached: its hosts unmount it (after its image caches
    went: last). Best effort: a host that does not answer is named and keeps its mount."""
    from apps.core.errors import CloudPortalError

    from .models import PrimaryStorageType
    from .shared import unmount
    from .space import reaching_hosts

    if primary_storage.type != PrimaryStorageType.NFS:
        return None
    unmounted, left = [], []
    for host in reaching_hosts(primary_storage):
        try:
            unmount(primary_storage, host)
            unmounted.append(str(host.uuid))
        except CloudPortalError as exc:
            left.append({"host_uuid": str(host.uuid), "code": exc.code, "message": exc.message})
    return {"nfs_mounts": {"unmounted": unmounted, "left": left}} if unmounted or left else None


def register():
    from apps.core.cascade import before_delete
    from apps.infra.flows.hosts import HOST_CONNECT_HOOKS
    from apps.infra.models import Host

    from .models import PrimaryStorage

    if fill_local_storage_capacity not in HOST_CONNECT_HOOKS:
        HOST_CONNECT_HOOKS.append(fill_local_storage_capacity)
    before_delete(Host, remove_host_image_caches)
    before_delete(PrimaryStorage, remove_primary_storage_image_caches)
    if mount_shared_storage not in HOST_CONNECT_HOOKS:
        HOST_CONNECT_HOOKS.append(mount_shared_storage)
    before_delete(PrimaryStorage, unmount_deleted_shared_storage, last=True)


def remove_snapshot_files(sender, instance, **kwargs):
    """A volume that goes (expunge) takes its snapshots' files with it; their rows go by the foreign
    key. Best effort: an unreachable host keeps the files (logged), the rows still go."""
    from .snapshot_chain import remove_snapshot_files as remove

    remove(instance)


def _connect_snapshot_files():
    from django.db.models.signals import pre_delete

    pre_delete.connect(remove_snapshot_files, sender="storage.Volume", dispatch_uid="storage.volume-snapshot-files")


_connect_snapshot_files()

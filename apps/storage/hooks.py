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

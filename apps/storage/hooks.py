"""Storage's part in other apps' flows: compute's host connect hooks."""


def fill_local_storage_capacity(host):
    """ZStack's KVMHostConnectExtensionPoint for local storage: a connecting host reports the
    capacity of every local primary storage of its cluster (a failure fails the connect)."""
    from .capacity import on_host_connected

    on_host_connected(host)


def register():
    from apps.compute.flows.hosts import HOST_CONNECT_HOOKS

    if fill_local_storage_capacity not in HOST_CONNECT_HOOKS:
        HOST_CONNECT_HOOKS.append(fill_local_storage_capacity)

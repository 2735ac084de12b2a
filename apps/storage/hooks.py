"""Storage's part in other apps' flows (signals, so compute does not import storage)."""
from django.dispatch import receiver

from apps.compute.signals import host_connected


@receiver(host_connected, dispatch_uid="storage-local-capacity")
def fill_local_storage_capacity(sender, host, **kwargs):
    """ZStack's KVMHostConnectExtensionPoint for local storage: a connecting host reports the
    capacity of every local primary storage of its cluster (a failure fails the connect)."""
    from .capacity import on_host_connected

    on_host_connected(host)

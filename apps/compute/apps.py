from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "apps.compute"
    label = "compute"

    def ready(self):
        # cascade rules, host.* and vm.* global configs, and every flow (workers look flows up by name)
        from . import cascade, flows, globalconfig  # noqa: F401
        from .flows.hosts import HOST_CONNECT_HOOKS
        from .vm_sync import reapply_vm_dhcp

        if reapply_vm_dhcp not in HOST_CONNECT_HOOKS:
            HOST_CONNECT_HOOKS.append(reapply_vm_dhcp)  # a reconnecting host serves its VMs' DHCP again
        from apps.core import rowcache

        from .models import Cluster, Host

        # the VM create keeps the row of the host it chose for a second (AllocateHost, apps.core.rowcache)
        rowcache.watch(Host, Cluster, names=["host-with-cluster", "ps-refs-of-host", "clusters-of-l2"])

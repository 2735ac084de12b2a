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

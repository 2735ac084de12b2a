from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "apps.compute"
    label = "compute"

    def ready(self):
        # cascade rules, vm.* global configs, and every VM flow (workers look flows up by name)
        from apps.infra.agent_events import AGENT_EVENT_HANDLERS
        from apps.infra.flows.hosts import HOST_CONNECT_HOOKS

        from . import cascade, flows, globalconfig  # noqa: F401
        from .vm_sync import apply_reported_event, reapply_vm_dhcp

        if reapply_vm_dhcp not in HOST_CONNECT_HOOKS:
            HOST_CONNECT_HOOKS.append(reapply_vm_dhcp)  # a reconnecting host serves its VMs' DHCP again
        AGENT_EVENT_HANDLERS["vm.state"] = apply_reported_event  # what the hypervisor saw a VM do
        from apps.storage.flows.volume_image import VOLUME_USE_CHECKS

        from .vm_volumes import refuse_volume_of_running_vm
        if refuse_volume_of_running_vm not in VOLUME_USE_CHECKS:
            VOLUME_USE_CHECKS.append(refuse_volume_of_running_vm)  # an image of a running VM's disk: refused
        from .volume_plans import register as register_volume_plans

        register_volume_plans()   # the volume API's attach, detach, resize (apps.storage.data_volumes)
        from apps.infra.maintenance import MAINTENANCE

        from .flows.host_maintenance import MAINTAIN_HOST

        MAINTENANCE["flow"] = MAINTAIN_HOST   # POST /hosts/<uuid>/maintain/ empties the host of VMs
        from .ha import start_heartbeat

        if start_heartbeat not in HOST_CONNECT_HOOKS:
            HOST_CONNECT_HOOKS.append(start_heartbeat)   # the agent heartbeats on the cluster's shared storage
        from apps.storage.flows.shared_storage import SHARED_STORAGE_ATTACHED_HOOKS

        if start_heartbeat not in SHARED_STORAGE_ATTACHED_HOOKS:
            SHARED_STORAGE_ATTACHED_HOOKS.append(start_heartbeat)   # and on one attached while it was up
        from .flows import ha_restart  # noqa: F401  (workers look the HA restart flow up by name)

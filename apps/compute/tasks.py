from celery import shared_task


@shared_task(name="apps.compute.tasks.sync_vm_states")
def sync_vm_states():
    from .vm_sync import sync_due_hosts

    return sync_due_hosts()


@shared_task(name="apps.compute.tasks.expunge_vms")
def expunge_vms():
    from .flows.vm_lifecycle import expunge_due_vms

    return expunge_due_vms()


@shared_task(name="apps.compute.tasks.ha_tick")
def ha_tick():
    from .ha import ha_tick as tick

    return tick()

from celery import shared_task


@shared_task(name="apps.compute.tasks.ping_hosts")
def ping_hosts():
    from .ping import ping_due_hosts

    return ping_due_hosts()


@shared_task(name="apps.compute.tasks.sync_vm_states")
def sync_vm_states():
    from .vm_sync import sync_due_hosts

    return sync_due_hosts()


@shared_task(name="apps.compute.tasks.expunge_vms")
def expunge_vms():
    from .flows.vm_lifecycle import expunge_due_vms

    return expunge_due_vms()


@shared_task(name="apps.compute.tasks.revive_simulated_hosts")
def revive_simulated_hosts():
    """Sent by `runportal` once the simulator agent it started is up (it keeps hosts in memory)."""
    from .flows.hosts import revive_simulated_hosts as revive

    return revive()

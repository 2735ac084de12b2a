from celery import shared_task


@shared_task(name="apps.infra.tasks.ping_hosts")
def ping_hosts():
    from .ping import ping_due_hosts

    return ping_due_hosts()


@shared_task(name="apps.infra.tasks.revive_simulated_hosts")
def revive_simulated_hosts():
    """Sent by `runportal` once the simulator agent it started is up (it keeps hosts in memory)."""
    from .flows.hosts import revive_simulated_hosts as revive

    return revive()

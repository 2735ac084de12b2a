from celery import shared_task


@shared_task(name="apps.compute.tasks.ping_hosts")
def ping_hosts():
    from .ping import ping_due_hosts

    return ping_due_hosts()

from celery import shared_task


@shared_task(name="apps.storage.tasks.expunge_volumes")
def expunge_volumes():
    from .flows.data_volumes import expunge_due_volumes

    return expunge_due_volumes()

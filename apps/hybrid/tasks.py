from celery import shared_task


@shared_task(name="apps.hybrid.tasks.sync_data_centers")
def sync_data_centers():
    """Beat: a sync job for each data centre whose ``hybrid/syncInterval`` has passed since its last."""
    from .periodic import sync_due_data_centers

    return sync_due_data_centers()

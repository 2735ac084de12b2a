"""The Celery application: every flow runs here (see apps.core.flows)."""
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudportal.settings")

app = Celery("cloudportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def keep_database_connections(**_):
    """Worker processes keep their database connection between tasks (Celery's Django fix-up
    closes it after every task otherwise, and a new MariaDB connection per job costs more than
    the job's own queries). The web process keeps CONN_MAX_AGE=0 (see settings)."""
    from django.conf import settings

    for alias in settings.DATABASES.values():
        alias["CONN_MAX_AGE"] = int(os.environ.get("WORKER_CONN_MAX_AGE", "300"))
        alias["CONN_HEALTH_CHECKS"] = True

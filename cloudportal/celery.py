"""The Celery application: every flow runs here (see apps.core.flows)."""
import os

from celery import Celery
from celery.signals import task_postrun, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudportal.settings")

app = Celery("cloudportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def keep_database_connections(**_):
    """Worker processes keep their database connection between tasks (a new MariaDB connection
    per job costs more than the job's own queries). The web process keeps CONN_MAX_AGE=0 (see
    settings). Celery's Django fix-up (5.7) closes every connection before and after every task
    whatever CONN_MAX_AGE says, unless CELERY_DB_REUSE_MAX is set: settings sets it out of
    reach, and ``recycle_database_connections`` below does what Django does after a request."""
    from django.conf import settings

    for alias in settings.DATABASES.values():
        alias["CONN_MAX_AGE"] = int(os.environ.get("WORKER_CONN_MAX_AGE", "300"))
        alias["CONN_HEALTH_CHECKS"] = True


@task_postrun.connect
def recycle_database_connections(task=None, **_):
    """After each task run by a worker: drop a connection an error left unusable or one older than
    CONN_MAX_AGE (WORKER_CONN_MAX_AGE), and have the next task check the others' health first
    (CONN_HEALTH_CHECKS), as Django does around a web request. SQLite (the zero-setup default)
    connections are closed after every task as before: opening one is only opening a file, and web,
    worker and beat share that file's write lock. Eager tasks (tests, debugging) run inside the
    caller's request or transaction: left alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite":
            conn.close()
        else:
            conn.close_if_unusable_or_obsolete()

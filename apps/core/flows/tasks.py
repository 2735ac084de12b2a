from celery import shared_task
from django.db import connections

from .reaper import reap_jobs as _reap_jobs
from .worker import DatabaseUnavailable, execute_job


# a worker that cannot reach the database before claiming a job tries again with backoff
# (2, 4, 8 ... 60 s, for about half an hour) instead of dropping the job: it stays pending
RETRY_MAX_SECONDS = 60
RETRIES = 40


@shared_task(bind=True, name="apps.core.flows.tasks.run_job", acks_late=True, max_retries=RETRIES)
def run_job(self, job_uuid):
    try:
        execute_job(job_uuid)
    except DatabaseUnavailable as exc:
        connections.close_all()  # a fresh connection next time
        raise self.retry(exc=exc, countdown=min(RETRY_MAX_SECONDS, 2 ** (self.request.retries + 1)))


@shared_task(name="apps.core.flows.tasks.reap_jobs")
def reap_jobs():
    return [str(u) for u in _reap_jobs()]


@shared_task(name="apps.core.flows.tasks.prune_audit")
def prune_audit():
    """Delete audit and change logs older than ``audit/retention.days``."""
    from datetime import timedelta

    from django.utils import timezone

    from ..globalconfig.defaults import AUDIT_RETENTION_DAYS
    from ..models import AuditLog, ChangeLog

    cutoff = timezone.now() - timedelta(days=AUDIT_RETENTION_DAYS.value())
    return AuditLog.objects.filter(created_at__lt=cutoff).delete()[0] + ChangeLog.objects.filter(
        created_at__lt=cutoff).delete()[0]

from celery import shared_task

from .engine import execute_job, reap_jobs as _reap_jobs


@shared_task(name="apps.core.flows.tasks.run_job", acks_late=True)
def run_job(job_uuid):
    execute_job(job_uuid)


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

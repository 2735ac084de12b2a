from celery import shared_task


@shared_task(name="apps.monitoring.tasks.evaluate_alarms")
def evaluate_alarms():
    """Beat: metric rules against the store, and the failed jobs since the last tick."""
    from .builtin import ensure_builtin_rules
    from .events import scan_failed_jobs
    from .metric_rules import evaluate_metric_rules

    ensure_builtin_rules()
    return {"failed_jobs": scan_failed_jobs(), "metric_history": evaluate_metric_rules()}


@shared_task(name="apps.monitoring.tasks.deliver_notifications")
def deliver_notifications():
    """Beat (for retries) and right after an alarm changes: send the deliveries that are due."""
    from .delivery import deliver_due

    return deliver_due()


@shared_task(name="apps.monitoring.tasks.run_schedules")
def run_schedules():
    from .scheduling import run_due_schedules

    return len(run_due_schedules())


@shared_task(name="apps.monitoring.tasks.prune_history")
def prune_history():
    """Beat, hourly: alarm history (with its deliveries) and schedule runs older than
    ``alarm/history.retentionDays`` go; alarms keep their current state."""
    from datetime import timedelta

    from django.utils import timezone

    from .globalconfig import HISTORY_RETENTION_DAYS
    from .models import AlarmHistory, ScheduleRun

    cutoff = timezone.now() - timedelta(days=HISTORY_RETENTION_DAYS.value())
    return AlarmHistory.objects.filter(created_at__lt=cutoff).delete()[0] + ScheduleRun.objects.filter(
        created_at__lt=cutoff).delete()[0]

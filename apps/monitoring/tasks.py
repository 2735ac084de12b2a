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

import time

from celery import shared_task


@shared_task(name="apps.monitoring.tasks.collect_metrics")
def collect_metrics():
    """The built-in store's sample (apps.monitoring.collector), when it is due: beat asks often,
    monitoring.sampleInterval decides, and one worker at a time takes it. Nothing to do when
    Prometheus is the store (it scrapes the agents itself)."""
    from django.conf import settings
    from django.db.models import F, Q

    from .collector import collect
    from .globalconfig import SAMPLE_INTERVAL
    from .models import CollectorRun

    if settings.PROMETHEUS_URL:
        return None
    interval, now = SAMPLE_INTERVAL.value(), time.time()
    CollectorRun.objects.get_or_create(pk=1)
    # due: the last sample began an interval ago (less half a beat tick, so that a sample due between
    # two ticks is taken at the earlier one) and has ended, or has hung for five intervals
    ended_or_hung = Q(finished_at__gte=F("started_at")) | Q(started_at__lt=now - 5 * interval)
    due = CollectorRun.objects.filter(ended_or_hung, pk=1, started_at__lte=now - interval + settings.METRICS_TICK / 2)
    if not due.update(started_at=now):
        return None
    try:
        return collect()
    finally:
        CollectorRun.objects.filter(pk=1).update(finished_at=time.time())

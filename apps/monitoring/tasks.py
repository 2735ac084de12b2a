import time

from celery import shared_task


@shared_task(name="apps.monitoring.tasks.collect_metrics")
def collect_metrics():
    """The built-in store's sample (apps.monitoring.collector), when it is due: beat asks often,
    monitoring.sampleInterval decides. Nothing to do when Prometheus is the store (it scrapes)."""
    from django.conf import settings
    from django.db.models import Max

    from .collector import collect
    from .globalconfig import SAMPLE_INTERVAL
    from .models import MetricCursor

    if settings.PROMETHEUS_URL:
        return None
    last = MetricCursor.objects.aggregate(last=Max("ts"))["last"]
    # half a beat tick of slack, so a sample due between two ticks is taken at the earlier one
    if last is not None and time.time() - last < SAMPLE_INTERVAL.value() - settings.METRICS_TICK / 2:
        return None
    return collect()

"""The portal's own metrics, for any Prometheus to scrape at /metrics (prometheus-client):
API latency by endpoint and job durations (counted by each web and worker process into
prometheus-client's multi-process files, PROMETHEUS_MULTIPROC_DIR), and what the database and the
broker say at scrape time (live jobs by flow and state, hosts by status, queue depth).
"""
import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

API_LATENCY = Histogram(
    "cloudportal_api_request_duration_seconds", "API requests by endpoint (URL name), method and status class",
    ["endpoint", "method", "status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
JOB_DURATION = Histogram(
    "cloudportal_job_duration_seconds", "finished jobs by flow and end state, and how long they took",
    ["flow", "state"], buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))


def count_job(job, state, seconds):
    """apps.core.flows JOB_FINISHED_HOOKS: a job ended in this process."""
    JOB_DURATION.labels(job.flow, str(state)).observe(max(seconds, 0.0))


class PortalState:
    """What is true now, read at each scrape: from the database and the broker, not from a process."""

    def collect(self):
        from django.db.models import Count

        from apps.core.models import Job, JobState
        from apps.infra.models import Host
        from apps.infra.models.host import HostStatus

        jobs = GaugeMetricFamily("cloudportal_jobs", "jobs pending or running, by flow and state",
                                 labels=["flow", "state"])
        live = (Job.objects.filter(state__in=[JobState.PENDING, JobState.RUNNING]).values("flow", "state")
                .annotate(n=Count("id")).order_by())
        for row in live:
            jobs.add_metric([row["flow"], row["state"]], row["n"])
        yield jobs
        hosts = GaugeMetricFamily("cloudportal_hosts", "hosts by status", labels=["status"])
        counted = dict(Host.objects.values_list("status").annotate(n=Count("id")).order_by())
        for status in HostStatus.values:
            hosts.add_metric([status], counted.get(status, 0))
        yield hosts
        depth = queue_depth()
        if depth is not None:
            queue = GaugeMetricFamily("cloudportal_queue_depth", "tasks waiting in the broker's queue",
                                      labels=["queue"])
            queue.add_metric([depth[0]], depth[1])
            yield queue


def queue_depth():
    """(queue, tasks waiting) of the default Celery queue, whatever the broker; None if it cannot say."""
    from celery import current_app
    from django.conf import settings
    from kombu.exceptions import ChannelError

    name = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        with current_app.connection_for_read() as connection:
            return name, connection.default_channel.queue_declare(queue=name, passive=True).message_count
    except ChannelError:   # the broker has no such queue: Redis drops a list when it empties
        return name, 0
    except Exception as exc:  # noqa: BLE001 - a broker that cannot say leaves the figure out
        log.info("queue depth unknown: %s", exc.__class__.__name__)
        return None


def exposition():
    """(body, content type) of every metric, summed over the portal's processes."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    state = CollectorRegistry()
    state.register(PortalState())
    return generate_latest(registry) + generate_latest(state), CONTENT_TYPE_LATEST

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Metrics of hosts and VMs (read from a time-series store), alarms and their notifications,
    and scheduled jobs: what watches the cloud rather than builds it."""

    name = "apps.monitoring"
    label = "monitoring"

    def ready(self):
        # monitoring.* global configs
        from apps.core.events.streams import register_stream
        from apps.core.flows.progress import JOB_FINISHED_HOOKS

        from . import globalconfig  # noqa: F401
        from .live import MetricsStream
        from .portal_metrics import count_job

        if count_job not in JOB_FINISHED_HOOKS:
            JOB_FINISHED_HOOKS.append(count_job)   # the portal's /metrics counts jobs and their durations
        register_stream("metrics", MetricsStream())   # the live charts' points over /ws/events/

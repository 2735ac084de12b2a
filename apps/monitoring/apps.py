from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Metrics of hosts and VMs (read from a time-series store), alarms and their notifications,
    and scheduled jobs: what watches the cloud rather than builds it."""

    name = "apps.monitoring"
    label = "monitoring"

    def ready(self):
        # monitoring.* global configs
        from apps.core.events.streams import register_stream

        from . import globalconfig  # noqa: F401
        from .live import MetricsStream

        register_stream("metrics", MetricsStream())   # the live charts' points over /ws/events/

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Metrics of hosts and VMs (read from a time-series store), alarms and their notifications,
    and scheduled jobs: what watches the cloud rather than builds it."""

    name = "apps.monitoring"
    label = "monitoring"

    def ready(self):
        from . import cascade  # noqa: F401
        from .events import connect

        connect()   # host / storage status and VM state changes feed the event rules

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Metrics of hosts and VMs (read from a time-series store), alarms and their notifications,
    and scheduled jobs: what watches the cloud rather than builds it."""

    name = "apps.monitoring"
    label = "monitoring"

    def ready(self):
        # tasks: registered in every process, so an alarm change can ask for a delivery by name
        from . import cascade, globalconfig, tasks  # noqa: F401
        from .events import connect

        connect()   # host / storage status and VM state changes feed the event rules

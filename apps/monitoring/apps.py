from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Metrics of hosts and VMs (read from a time-series store), alarms and their notifications,
    and scheduled jobs: what watches the cloud rather than builds it."""

    name = "apps.monitoring"
    label = "monitoring"

    def ready(self):
        from apps.infra.agent import AGENT_SETTINGS_HOOKS

        from .globalconfig import agent_settings   # also declares the monitoring.* global configs

        if agent_settings not in AGENT_SETTINGS_HOOKS:
            AGENT_SETTINGS_HOOKS.append(agent_settings)   # agents sample as often as the portal says

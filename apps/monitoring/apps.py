from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Metrics of hosts and VMs (read from a time-series store), alarms and their notifications,
    and scheduled jobs: what watches the cloud rather than builds it."""

    name = "apps.monitoring"
    label = "monitoring"

    def ready(self):
        from apps.core.events.followable import register_followable
        from apps.core.events.streams import register_stream
        from apps.core.flows.progress import JOB_FINISHED_HOOKS
        from apps.infra.agent import AGENT_SETTINGS_HOOKS

        # tasks: registered in every process, so an alarm change can ask for a delivery by name
        from . import cascade, tasks  # noqa: F401
        from .events import connect
        from .globalconfig import agent_settings   # also declares the monitoring.* and alarm.* global configs
        from .live import MetricsStream
        from .models import Alarm, AlarmHistory
        from .portal_metrics import count_job

        if agent_settings not in AGENT_SETTINGS_HOOKS:
            AGENT_SETTINGS_HOOKS.append(agent_settings)   # agents sample as often as the portal says
        if count_job not in JOB_FINISHED_HOOKS:
            JOB_FINISHED_HOOKS.append(count_job)   # the portal's /metrics counts jobs and their durations
        connect()   # host / storage status and VM state changes feed the event rules
        register_stream("metrics", MetricsStream())   # the live charts' points over /ws/events/
        # the alarm pages follow their rows' states and new rows over /ws/events/ (alarming.py
        # announces them); who may follow one: core's tenancy, by the rows' account
        register_followable(Alarm, new_rows=True)
        register_followable(AlarmHistory, rows_change=False, new_rows=True)

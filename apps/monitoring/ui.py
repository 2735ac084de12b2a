"""Monitoring's console pages (apps.core.ui): alarm rules, alarms and their history, notification
endpoints and deliveries, VM schedules and their runs; and the metric charts on host and VM pages
(the performance page is in console_urls.py)."""
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages, add_detail_panel

from .alarm_views import (AlarmHistoryViewSet, AlarmRuleViewSet, AlarmViewSet, DeliveryViewSet,
                          NotificationEndpointViewSet, ScheduleRunViewSet, VmScheduleViewSet)
from .chart_pages import charts_panel

MONITORING = _("Monitoring")
LABELS = {
    "kind": _("Kind"), "resource_kind": _("Watches"), "metric": _("Metric"), "resource_uuids": _("Resources"),
    "resource_filter": _("Resource filter"), "aggregation": _("Aggregation"), "window_seconds": _("Window (s)"),
    "comparison": _("Comparison"), "threshold": _("Threshold"), "duration_seconds": _("For (s)"),
    "event_type": _("Event"), "event_states": _("New states"), "repeat_interval": _("Remind every (s)"),
    "muted": _("Muted"), "builtin": _("Built in"), "endpoint_uuids": _("Notify"), "endpoints": _("Notify"),
    "rule_uuid": _("Rule"), "resource_type": _("Resource type"), "resource_uuid": _("Resource"),
    "resource_name": _("Resource name"), "value": _("Value"), "reason": _("Why"), "changed_at": _("Changed at"),
    "from_state": _("From"), "to_state": _("To"), "reminder": _("Reminder"), "caused_by": _("Caused by"),
    "alarm_uuid": _("Alarm"), "address": _("Address"), "secret": _("Signing secret"), "has_secret": _("Has secret"),
    "endpoint_uuid": _("Endpoint"), "history_uuid": _("Alarm event"), "attempts": _("Attempts"),
    "next_attempt_at": _("Next attempt"), "delivered_at": _("Delivered at"), "last_error": _("Last error"),
    "log": _("Attempts log"), "vm_uuid": _("VM"), "action": _("Action"), "cron": _("Cron expression"),
    "interval_seconds": _("Every (s)"), "timezone": _("Time zone"), "next_run_at": _("Next run"),
    "last_run_at": _("Last run"), "schedule_uuid": _("Schedule"), "due_at": _("Due at"), "job_uuid": _("Job"),
    "outcome": _("Outcome"), "message": _("Message"), "details": _("Details"),
}


class AlarmRulePages(ResourcePages):
    viewset = AlarmRuleViewSet
    basename = "alarm-rules"
    menu = (MONITORING, _("Alarm rules"))
    order = 60
    columns = ["name", "kind", "metric", "event_type", "comparison", "threshold", "muted", "created_at"]
    fields = ["name", "description", "kind", "resource_kind", "metric", "resource_uuids", "resource_filter",
              "aggregation", "window_seconds", "comparison", "threshold", "duration_seconds", "event_type",
              "event_states", "repeat_interval", "muted", "endpoint_uuids"]
    options = {"endpoint_uuids": "notification-endpoints"}
    show_when = {name: {"kind": ["metric"]} for name in (
        "resource_kind", "metric", "aggregation", "window_seconds", "comparison", "threshold", "duration_seconds")}
    show_when.update({"event_type": {"kind": ["event"]}, "event_states": {"kind": ["event"]}})
    actions = [Action("delete", destructive=True)]
    labels = LABELS
    related = [Related("alarms", "rule_uuid", label=_("Alarms")),
               Related("alarm-history", "rule_uuid", label=_("Alarm history"))]
    search_example = "kind=event"


class AlarmPages(ResourcePages):
    viewset = AlarmViewSet
    basename = "alarms"
    menu = (MONITORING, _("Alarms"))
    order = 61
    columns = ["name", "state", "resource_type", "resource_uuid", "value", "changed_at"]
    links = {"rule_uuid": "alarm-rules"}
    labels = LABELS
    related = [Related("alarm-history", "alarm_uuid", label=_("History"))]
    search_example = "state=Alarm"
    with_history = False


class AlarmHistoryPages(ResourcePages):
    viewset = AlarmHistoryViewSet
    basename = "alarm-history"
    menu = (MONITORING, _("Alarm history"))
    order = 62
    columns = ["created_at", "resource_type", "resource_name", "from_state", "to_state", "reason", "caused_by"]
    links = {"rule_uuid": "alarm-rules", "alarm_uuid": "alarms"}
    labels = LABELS
    search_example = "to_state=Alarm"
    search_field = "resource_name"
    default_ordering = "-created_at"
    with_history = False


class NotificationEndpointPages(ResourcePages):
    viewset = NotificationEndpointViewSet
    basename = "notification-endpoints"
    menu = (MONITORING, _("Notification endpoints"))
    order = 63
    columns = ["name", "type", "address", "state", "created_at"]
    fields = ["name", "description", "type", "address", "secret"]
    edit_fields = ["name", "description", "address", "secret"]
    show_when = {"secret": {"type": ["webhook"]}}
    actions = ["enable", "disable", Action("delete", destructive=True)]
    labels = LABELS
    related = [Related("notification-deliveries", "endpoint_uuid", label=_("Deliveries"))]
    search_example = "type=webhook"


class DeliveryPages(ResourcePages):
    viewset = DeliveryViewSet
    basename = "notification-deliveries"
    menu = (MONITORING, _("Deliveries"))
    order = 64
    columns = ["created_at", "endpoint_uuid", "state", "attempts", "next_attempt_at", "delivered_at"]
    links = {"endpoint_uuid": "notification-endpoints", "history_uuid": "alarm-history"}
    labels = LABELS
    search_example = "state=failed"
    search_field = "state"
    default_ordering = "-created_at"
    with_history = False


class VmSchedulePages(ResourcePages):
    viewset = VmScheduleViewSet
    basename = "vm-schedules"
    menu = (MONITORING, _("VM schedules"))
    order = 65
    columns = ["name", "vm_uuid", "action", "cron", "interval_seconds", "timezone", "state", "next_run_at"]
    fields = ["name", "description", "vm_uuid", "action", "cron", "interval_seconds", "timezone"]
    edit_fields = ["name", "description", "cron", "interval_seconds", "timezone"]
    options = {"vm_uuid": "vm-instances"}
    actions = ["enable", "disable", Action("delete", destructive=True)]
    labels = LABELS
    related = [Related("vm-schedule-runs", "schedule_uuid", label=_("Runs"))]
    search_example = "action=stop"


class ScheduleRunPages(ResourcePages):
    viewset = ScheduleRunViewSet
    basename = "vm-schedule-runs"
    menu = (MONITORING, _("Schedule runs"))
    order = 66
    columns = ["created_at", "schedule_uuid", "due_at", "outcome", "job_uuid"]
    links = {"schedule_uuid": "vm-schedules", "job_uuid": "jobs"}
    labels = LABELS
    search_example = "outcome=refused"
    search_field = "outcome"
    default_ordering = "-created_at"
    with_history = False


add_detail_panel("vm-instances", charts_panel("vm"))
add_detail_panel("hosts", charts_panel("host"))

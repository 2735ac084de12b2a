"""Alarm rules, the alarms they raise (one per rule and resource) and the history of their states.

A rule watches a metric (through the metrics store) or an event (a host or storage going
Disconnected, a VM stopping by itself, a job failing). An alarm is OK or Alarm; every change, and
every notice an event rule sends, leaves a history row that says which resource, which rule, what
caused it and the values seen.
"""
import uuid as uuid_lib

from django.db import models

from apps.core.models import Resource, ResourceQuerySet, compiled, kept


class RuleKind(models.TextChoices):
    METRIC = "metric"
    EVENT = "event"


class ResourceKind(models.TextChoices):
    HOST = "host"
    VM = "vm"


class Aggregation(models.TextChoices):
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    LAST = "last"


class Comparison(models.TextChoices):
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


class EventType(models.TextChoices):
    HOST_DISCONNECTED = "host.disconnected"
    HOST_CONNECTED = "host.connected"
    PRIMARY_STORAGE_DISCONNECTED = "primary_storage.disconnected"
    PRIMARY_STORAGE_CONNECTED = "primary_storage.connected"
    BACKUP_STORAGE_DISCONNECTED = "backup_storage.disconnected"
    BACKUP_STORAGE_CONNECTED = "backup_storage.connected"
    VM_STOPPED_UNEXPECTEDLY = "vm.stopped_unexpectedly"
    VM_STATE_CHANGED = "vm.state_changed"
    JOB_FAILED = "job.failed"


class AlarmState(models.TextChoices):
    OK = "OK"
    ALARM = "Alarm"


class AlarmRuleQuerySet(ResourceQuerySet):
    @kept(invalidated_by=["monitoring.AlarmRule", "accounts.Account"])
    @compiled
    def kept_event_rules(self, event_type):
        """The rules watching ``event_type``, as read up to a second ago: every VM state change asks."""
        return self.select_related("account").filter(kind="event", event_type=event_type).order_by("id")


class AlarmRule(Resource):
    """What to watch and whom to tell. ``account`` is the owner (None: a built-in rule, the admin's)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="alarm_rules",
                                null=True, blank=True)
    kind = models.CharField(max_length=8, choices=RuleKind.choices)
    # metric rules
    resource_kind = models.CharField(max_length=8, choices=ResourceKind.choices, blank=True, default="")
    metric = models.CharField(max_length=64, blank=True, default="")
    resource_uuids = models.JSONField(default=list, blank=True, help_text="the watched resources; empty: all")
    resource_filter = models.JSONField(default=list, blank=True, help_text="q= conditions choosing them")
    aggregation = models.CharField(max_length=8, choices=Aggregation.choices, default=Aggregation.AVG)
    window_seconds = models.PositiveIntegerField(default=300)
    comparison = models.CharField(max_length=2, choices=Comparison.choices, default=Comparison.GT)
    threshold = models.FloatField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(default=0, help_text="how long the condition must hold")
    # event rules
    event_type = models.CharField(max_length=32, choices=EventType.choices, blank=True, default="")
    event_states = models.JSONField(default=list, blank=True, help_text="vm.state_changed: the new states")
    # both
    repeat_interval = models.PositiveIntegerField(default=0, help_text="seconds between reminders; 0: none")
    muted = models.BooleanField(default=False)
    builtin = models.CharField(max_length=64, blank=True, default="", help_text="key of a built-in rule")
    endpoints = models.ManyToManyField("monitoring.NotificationEndpoint", related_name="rules", blank=True)

    objects = AlarmRuleQuerySet.as_manager()
    tenant_path = "account"

    class Meta(Resource.Meta):
        indexes = [models.Index(fields=["kind", "muted"], name="alarmrule_kind_muted"),
                   models.Index(fields=["event_type"], name="alarmrule_event_type")]

    class Query:
        fields = ["uuid", "name", "description", "kind", "resource_kind", "metric", "aggregation",
                  "window_seconds", "comparison", "threshold", "duration_seconds", "event_type",
                  "repeat_interval", "muted", "builtin", "account_uuid", "created_at", "updated_at"]
        aliases = {"account_uuid": "account__uuid"}
        relations = ["account"]


class Alarm(models.Model):
    """The state of one rule on one resource (made the first time the rule fires there)."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+",
                                null=True, blank=True)
    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="alarms")
    resource_type = models.CharField(max_length=64)
    resource_uuid = models.UUIDField()
    state = models.CharField(max_length=8, choices=AlarmState.choices, default=AlarmState.OK)
    value = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    pending_since = models.DateTimeField(null=True, blank=True, help_text="the condition holds since")
    changed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["rule", "resource_uuid"], name="alarm_rule_resource")]
        indexes = [models.Index(fields=["resource_uuid", "state"], name="alarm_resource_state")]

    class Query:
        fields = ["uuid", "name", "resource_type", "resource_uuid", "state", "value", "reason",
                  "changed_at", "rule_uuid", "account_uuid", "created_at", "updated_at"]
        aliases = {"rule_uuid": "rule__uuid", "account_uuid": "account__uuid"}
        relations = ["rule"]


class AlarmHistory(models.Model):
    """One change of an alarm's state, or one notice of an event rule: who/what, which rule, why."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+",
                                null=True, blank=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="history", null=True, blank=True)
    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="history")
    resource_type = models.CharField(max_length=64)
    resource_uuid = models.UUIDField()
    resource_name = models.CharField(max_length=255, blank=True, default="")
    from_state = models.CharField(max_length=8, blank=True, default="")
    to_state = models.CharField(max_length=8, blank=True, default="", help_text="empty for a notice")
    reminder = models.BooleanField(default=False)
    reason = models.TextField()
    caused_by = models.CharField(max_length=255, blank=True, default="", help_text="the event, job or evaluation")
    value = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "alarm history"

    class Query:
        fields = ["uuid", "created_at", "resource_type", "resource_uuid", "resource_name", "from_state",
                  "to_state", "reminder", "caused_by", "rule_uuid", "alarm_uuid", "account_uuid"]
        aliases = {"rule_uuid": "rule__uuid", "alarm_uuid": "alarm__uuid", "account_uuid": "account__uuid"}
        relations = ["rule", "alarm"]


class EventCursor(models.Model):
    """How far a beat scan of a table has read (the failed jobs), so each row is seen once."""

    name = models.CharField(max_length=64, unique=True)
    position = models.DateTimeField()

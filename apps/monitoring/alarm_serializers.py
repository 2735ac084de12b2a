from django.utils import timezone
from rest_framework import serializers

from apps.compute.models import VmInstance, VmState
from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import ResourceSerializer
from apps.core.errors import CloudPortalError
from apps.core.models import Job
from apps.core.query import apply_query
from apps.core.tenancy import is_admin, visible
from apps.infra.models import Host
from apps.storage.models import BackupStorage, PrimaryStorage

from .models import (Aggregation, Alarm, AlarmHistory, AlarmRule, Comparison, Delivery, EndpointType, EventType,
                     NotificationEndpoint, ResourceKind, RuleKind, ScheduleAction, ScheduleRun, VmSchedule)
from .scheduling import BadSchedule, next_run, zone

# the logical metrics of the store contract (apps.monitoring.store), per kind
METRICS = {
    "host": ["cpu", "memory_used", "memory_used_percent", "load1", "disk_read_bps", "disk_write_bps",
             "disk_read_iops", "disk_write_iops", "net_rx_bps", "net_tx_bps", "net_rx_pps", "net_tx_pps"],
    "vm": ["cpu", "memory_used", "disk_read_bps", "disk_write_bps", "disk_read_iops", "disk_write_iops",
           "net_rx_bps", "net_tx_bps", "net_rx_pps", "net_tx_pps"],
}
# what a normal account may watch: its own VMs and jobs (hosts and storage are the admin's)
TENANT_EVENTS = {EventType.VM_STOPPED_UNEXPECTEDLY, EventType.VM_STATE_CHANGED, EventType.JOB_FAILED}
# what an event rule's resource_filter (q= conditions) is read over
EVENT_MODELS = {
    EventType.HOST_DISCONNECTED: Host, EventType.HOST_CONNECTED: Host,
    EventType.PRIMARY_STORAGE_DISCONNECTED: PrimaryStorage, EventType.PRIMARY_STORAGE_CONNECTED: PrimaryStorage,
    EventType.BACKUP_STORAGE_DISCONNECTED: BackupStorage, EventType.BACKUP_STORAGE_CONNECTED: BackupStorage,
    EventType.VM_STOPPED_UNEXPECTEDLY: VmInstance, EventType.VM_STATE_CHANGED: VmInstance, EventType.JOB_FAILED: Job,
}


def _account_uuid(obj):
    return str(obj.account.uuid) if obj.account_id else None


class NotificationEndpointSerializer(ResourceSerializer):
    type = serializers.ChoiceField(choices=EndpointType.choices)
    address = serializers.CharField(max_length=2048, help_text="email: addresses, comma separated; webhook: "
                                                               "an http(s) URL")
    secret = serializers.CharField(max_length=256, required=False, allow_blank=True, write_only=True,
                                   help_text="webhook: the HMAC-SHA256 key its bodies are signed with "
                                             "(stored encrypted, never shown)")
    has_secret = serializers.SerializerMethodField()
    account_uuid = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = NotificationEndpoint
        fields = ResourceSerializer.Meta.fields + ["type", "address", "secret", "has_secret", "state",
                                                   "account_uuid"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]
        reads = {"tags": (), "has_secret": (), "account_uuid": ("account",)}

    def get_has_secret(self, obj) -> bool:
        return bool(obj.secret)

    def get_account_uuid(self, obj) -> str | None:
        return _account_uuid(obj)

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["type"].read_only = True
        return fields

    def validate(self, attrs):
        kind = attrs.get("type") or getattr(self.instance, "type", None)
        address = attrs.get("address", getattr(self.instance, "address", ""))
        if kind == EndpointType.EMAIL:
            field = serializers.EmailField()
            for item in [a.strip() for a in address.split(",")]:
                try:
                    field.run_validation(item)
                except serializers.ValidationError:
                    raise serializers.ValidationError({"address": f"'{item}' is not an email address"}) from None
        elif kind == EndpointType.WEBHOOK:
            try:
                serializers.URLField().run_validation(address)
            except serializers.ValidationError:
                raise serializers.ValidationError({"address": "a webhook needs an http or https URL"}) from None
            if not address.lower().startswith(("http://", "https://")):
                raise serializers.ValidationError({"address": "a webhook needs an http or https URL"})
            secret = attrs.get("secret", getattr(self.instance, "secret", ""))
            if not secret:
                raise serializers.ValidationError({"secret": "a webhook needs a secret to sign its bodies with"})
        return attrs


class AlarmRuleSerializer(ResourceSerializer):
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    resource_kind = serializers.ChoiceField(choices=ResourceKind.choices, required=False, allow_blank=True)
    metric = serializers.ChoiceField(choices=sorted(set(METRICS["host"]) | set(METRICS["vm"])), required=False,
                                     allow_blank=True, help_text="a logical metric of the store (per resource_kind)")
    resource_uuids = serializers.ListField(child=serializers.UUIDField(format="hex_verbose"), required=False)
    resource_filter = serializers.ListField(child=serializers.CharField(max_length=512), required=False,
                                            help_text="q= conditions over the resources, e.g. name~=web%")
    aggregation = serializers.ChoiceField(choices=Aggregation.choices, default=Aggregation.AVG)
    comparison = serializers.ChoiceField(choices=Comparison.choices, default=Comparison.GT)
    window_seconds = serializers.IntegerField(min_value=10, max_value=31 * 86400, default=300)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=31 * 86400, default=0)
    repeat_interval = serializers.IntegerField(min_value=0, max_value=31 * 86400, default=0)
    event_type = serializers.ChoiceField(choices=EventType.choices, required=False, allow_blank=True)
    event_states = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
    endpoint_uuids = serializers.ListField(child=serializers.UUIDField(), required=False, write_only=True)
    endpoints = serializers.SerializerMethodField()
    account_uuid = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = AlarmRule
        fields = ResourceSerializer.Meta.fields + [
            "kind", "resource_kind", "metric", "resource_uuids", "resource_filter", "aggregation", "window_seconds",
            "comparison", "threshold", "duration_seconds", "event_type", "event_states", "repeat_interval", "muted",
            "builtin", "endpoint_uuids", "endpoints", "account_uuid"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["builtin"]
        reads = {"tags": (), "endpoints": ("endpoints",), "account_uuid": ("account",)}

    def get_endpoints(self, obj) -> list[str]:
        return [str(e.uuid) for e in obj.endpoints.all()]

    def get_account_uuid(self, obj) -> str | None:
        return _account_uuid(obj)

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["kind"].read_only = True
        return fields

    def _user(self):
        request = self.context.get("request")
        return request.user if request else None

    def validate_resource_uuids(self, value):
        return [str(u) for u in value]

    def validate_endpoint_uuids(self, value):
        found = {e.uuid: e for e in visible(NotificationEndpoint.objects.filter(uuid__in=value), self._user())}
        missing = [str(u) for u in value if u not in found]
        if missing:
            raise serializers.ValidationError(f"NotificationEndpoint {missing[0]} not found.")
        return [found[u] for u in value]

    def validate(self, attrs):
        get = lambda name, default=None: attrs.get(name, getattr(self.instance, name, default))  # noqa: E731
        kind, user = get("kind"), self._user()
        if self.instance is not None and self.instance.builtin:
            changed = set(attrs) - {"muted", "endpoint_uuids", "description", "repeat_interval"}
            if changed:
                raise serializers.ValidationError({sorted(changed)[0]: "a built-in rule only takes muted, "
                                                   "endpoint_uuids, repeat_interval and description"})
        if kind == RuleKind.METRIC:
            resource_kind = get("resource_kind")
            if not resource_kind:
                raise serializers.ValidationError({"resource_kind": "a metric rule watches 'host' or 'vm'"})
            if resource_kind == ResourceKind.HOST and not is_admin(user):
                raise serializers.ValidationError({"resource_kind": "only an admin account watches hosts"})
            if get("metric") not in METRICS[resource_kind]:
                raise serializers.ValidationError({"metric": f"one of {', '.join(METRICS[resource_kind])}"})
            if get("threshold") is None:
                raise serializers.ValidationError({"threshold": "a metric rule needs a threshold"})
            attrs["event_type"] = ""
            model = VmInstance if resource_kind == ResourceKind.VM else Host
            self._check_filter(model, get("resource_filter"))
            self._check_uuids(model, attrs.get("resource_uuids"))
        elif kind == RuleKind.EVENT:
            event_type = get("event_type")
            if not event_type:
                raise serializers.ValidationError({"event_type": "an event rule needs an event_type"})
            if event_type not in TENANT_EVENTS and not is_admin(user):
                raise serializers.ValidationError({"event_type": "only an admin account watches hosts and storage"})
            states = get("event_states") or []
            if states and event_type != EventType.VM_STATE_CHANGED:
                raise serializers.ValidationError({"event_states": "only vm.state_changed rules take event_states"})
            unknown = [state for state in states if state not in VmState.values]
            if unknown:
                raise serializers.ValidationError({"event_states": f"'{unknown[0]}' is not a VM state"})
            attrs["resource_kind"], attrs["metric"] = "", ""
            self._check_filter(EVENT_MODELS[event_type], get("resource_filter"))
            self._check_uuids(EVENT_MODELS[event_type], attrs.get("resource_uuids"))
        return attrs

    def _check_uuids(self, model, uuids):
        """Every named resource must be one the account sees (the same answer as one that does not exist)."""
        if not uuids:
            return
        found = {str(u) for u in visible(model.objects.filter(uuid__in=uuids), self._user())
                 .values_list("uuid", flat=True)}
        missing = [u for u in uuids if u not in found]
        if missing:
            raise serializers.ValidationError({"resource_uuids": f"{model.__name__} {missing[0]} not found."})

    def _check_filter(self, model, conditions):
        """A bad q= condition is a 400 now, not a rule that fails at every evaluation."""
        if not conditions:
            return
        try:
            apply_query(model.objects.none(), list(conditions), self._user())
        except CloudPortalError as exc:
            raise serializers.ValidationError({"resource_filter": exc.message}) from None

    def create(self, validated_data):
        endpoints = validated_data.pop("endpoint_uuids", None)
        rule = super().create(validated_data)
        if endpoints is not None:
            rule.endpoints.set(endpoints)
        return rule

    def update(self, instance, validated_data):
        endpoints = validated_data.pop("endpoint_uuids", None)
        rule = super().update(instance, validated_data)
        if endpoints is not None:
            rule.endpoints.set(endpoints)
        return rule


class AlarmSerializer(serializers.ModelSerializer):
    rule_uuid = serializers.SerializerMethodField()
    account_uuid = serializers.SerializerMethodField()

    class Meta:
        model = Alarm
        fields = ["uuid", "name", "created_at", "updated_at", "rule_uuid", "resource_type", "resource_uuid", "state", "value",
                                                   "reason", "changed_at", "account_uuid"]
        read_only_fields = fields

    def get_rule_uuid(self, obj) -> str:
        return str(obj.rule.uuid)

    def get_account_uuid(self, obj) -> str | None:
        return _account_uuid(obj)


class AlarmHistorySerializer(serializers.ModelSerializer):
    rule_uuid = serializers.SerializerMethodField()
    alarm_uuid = serializers.SerializerMethodField()

    class Meta:
        model = AlarmHistory
        fields = ["uuid", "created_at", "rule_uuid", "alarm_uuid", "resource_type", "resource_uuid", "resource_name",
                  "from_state", "to_state", "reminder", "reason", "caused_by", "value", "details"]
        read_only_fields = fields

    def get_rule_uuid(self, obj) -> str:
        return str(obj.rule.uuid)

    def get_alarm_uuid(self, obj) -> str | None:
        return str(obj.alarm.uuid) if obj.alarm_id else None


class DeliverySerializer(serializers.ModelSerializer):
    endpoint_uuid = serializers.SerializerMethodField()
    history_uuid = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = ["uuid", "created_at", "endpoint_uuid", "history_uuid", "state", "attempts", "next_attempt_at",
                  "delivered_at", "last_error", "log"]
        read_only_fields = fields

    def get_endpoint_uuid(self, obj) -> str:
        return str(obj.endpoint.uuid)

    def get_history_uuid(self, obj) -> str:
        return str(obj.history.uuid)


class VmScheduleSerializer(ResourceSerializer):
    vm_uuid = UuidRelatedField(source="vm", queryset=VmInstance.objects.all())
    action = serializers.ChoiceField(choices=ScheduleAction.choices)
    cron = serializers.CharField(max_length=128, required=False, allow_blank=True,
                                 help_text="five fields (minute hour day month weekday), read in timezone")
    interval_seconds = serializers.IntegerField(min_value=60, max_value=366 * 86400, required=False,
                                                allow_null=True)
    timezone = serializers.CharField(max_length=64, default="UTC", help_text="an IANA name, e.g. Asia/Shanghai")
    account_uuid = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = VmSchedule
        fields = ResourceSerializer.Meta.fields + ["vm_uuid", "action", "cron", "interval_seconds", "timezone",
                                                   "state", "next_run_at", "last_run_at", "account_uuid"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state", "next_run_at", "last_run_at"]
        reads = {"tags": (), "vm_uuid": ("vm",), "account_uuid": ("account",)}

    def get_account_uuid(self, obj) -> str | None:
        return _account_uuid(obj)

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["vm_uuid"].read_only = True
        return fields

    def validate_timezone(self, value):
        try:
            zone(value)
        except BadSchedule as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate(self, attrs):
        if "cron" in attrs:
            attrs["cron"] = attrs["cron"].strip()
        # a PATCH that gives one of cron / interval_seconds replaces the other
        if attrs.get("cron") and "interval_seconds" not in attrs:
            attrs["interval_seconds"] = None
        if attrs.get("interval_seconds") and "cron" not in attrs:
            attrs["cron"] = ""
        get = lambda name, default=None: attrs.get(name, getattr(self.instance, name, default))  # noqa: E731
        cron, interval = get("cron") or "", get("interval_seconds")
        if bool(cron) == bool(interval):
            raise serializers.ValidationError({"cron": "give either cron or interval_seconds"})
        if self.instance is not None and not {"cron", "interval_seconds", "timezone"} & set(attrs):
            return attrs   # the times stay as they are
        try:
            attrs["next_run_at"] = next_run(cron, interval, get("timezone", "UTC"), timezone.now())
        except BadSchedule as exc:
            raise serializers.ValidationError({"cron": str(exc)}) from None
        return attrs

    def create(self, validated_data):
        validated_data["account"] = validated_data["vm"].account   # the VM's owner owns its schedules
        return super().create(validated_data)


class ScheduleRunSerializer(serializers.ModelSerializer):
    schedule_uuid = serializers.SerializerMethodField()

    class Meta:
        model = ScheduleRun
        fields = ["uuid", "created_at", "schedule_uuid", "due_at", "job_uuid", "outcome", "message"]
        read_only_fields = fields

    def get_schedule_uuid(self, obj) -> str:
        return str(obj.schedule.uuid)


from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.viewsets import ReadOnlyQueryViewSet, ResourceViewSet, audit
from apps.core.errors import CloudPortalError
from apps.core.states import ENABLE_STATE_MACHINE

from .models import Alarm, AlarmHistory, AlarmRule, Delivery, NotificationEndpoint, ScheduleRun, VmSchedule
from .alarm_serializers import (AlarmHistorySerializer, AlarmRuleSerializer, AlarmSerializer, DeliverySerializer,
                          NotificationEndpointSerializer, ScheduleRunSerializer, VmScheduleSerializer)


class BuiltinRuleKept(CloudPortalError):
    status = 409
    code = "BUILTIN_RULE"


class NotificationEndpointViewSet(ResourceViewSet):
    """Where an account's alarms are sent: email addresses or a webhook (JSON, signed HMAC-SHA256 with
    the endpoint's secret in ``X-CloudPortal-Signature``)."""

    queryset = NotificationEndpoint.objects.all()
    joins = ("account",)
    serializer_class = NotificationEndpointSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


class AlarmRuleViewSet(ResourceViewSet):
    """Alarm rules on metrics (a threshold held for a while) or on events (a host or storage going
    Disconnected, a VM stopping by itself, a job failing). Built-in rules can be muted, not deleted."""

    queryset = AlarmRule.objects.all()
    joins = ("account",)
    prefetches = ("endpoints",)
    serializer_class = AlarmRuleSerializer

    def destroy(self, request, *args, **kwargs):
        rule = self.get_object()
        if rule.builtin:
            audit(request, action="alarm-rules.delete", resource_type="AlarmRule", resource_uuid=rule.uuid)
            raise BuiltinRuleKept(f"rule '{rule.name}' is built in: mute it instead (PATCH muted=true)",
                                  details={"builtin": rule.builtin})
        return super().destroy(request, *args, **kwargs)


class AlarmViewSet(ReadOnlyQueryViewSet):
    """The state of each rule on each resource it fired on (OK or Alarm)."""

    queryset = Alarm.objects.select_related("rule", "account")
    serializer_class = AlarmSerializer

    @action(detail=True, methods=["get"])
    def history(self, request, uuid=None):
        alarm = self.get_object()
        rows = AlarmHistory.objects.filter(alarm=alarm).select_related("rule", "alarm").order_by("-created_at", "-id")
        return Response(AlarmHistorySerializer(rows[:200], many=True).data, status=status.HTTP_200_OK)


class AlarmHistoryViewSet(ReadOnlyQueryViewSet):
    """Every alarm state change and event notice: which resource, which rule, why, the value seen."""

    queryset = AlarmHistory.objects.select_related("rule", "alarm")
    serializer_class = AlarmHistorySerializer


class DeliveryViewSet(ReadOnlyQueryViewSet):
    """The delivery log: each message to each endpoint, its attempts and their outcome."""

    queryset = Delivery.objects.select_related("endpoint", "history")
    serializer_class = DeliverySerializer


class VmScheduleViewSet(ResourceViewSet):
    """Timed VM operations (start, stop, reboot) by cron expression or interval, in a time zone; each
    run is an ordinary job. A schedule goes when its VM does."""

    queryset = VmSchedule.objects.all()
    joins = ("vm", "account")
    serializer_class = VmScheduleSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}

    @action(detail=True, methods=["get"])
    def runs(self, request, uuid=None):
        schedule = self.get_object()
        rows = ScheduleRun.objects.filter(schedule=schedule).select_related("schedule").order_by("-created_at", "-id")
        return Response(ScheduleRunSerializer(rows[:200], many=True).data)


class ScheduleRunViewSet(ReadOnlyQueryViewSet):
    queryset = ScheduleRun.objects.select_related("schedule")
    serializer_class = ScheduleRunSerializer

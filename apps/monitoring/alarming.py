"""Alarm state changes: the one place that moves an alarm between OK and Alarm, writes its history
and queues the notifications (only on a change of state, or as a reminder per the rule's repeat
interval, so a flapping value or a stream of events does not flood anyone). Each new alarm, change
of state and history row is announced over ``/ws/events/`` once committed: the console's alarm
pages follow them (registered in apps.py)."""
from django.db import transaction
from django.utils import timezone

from apps.core.events import publish_new_row, publish_resource_change
from apps.core.states import EnableState

from .models import Alarm, AlarmHistory, AlarmState, Delivery
from .models.notify import DeliveryState


def alarm_for(rule, resource_type, resource_uuid, name=""):
    alarm, created = Alarm.objects.get_or_create(
        rule=rule, resource_uuid=resource_uuid,
        defaults={"resource_type": resource_type, "account_id": rule.account_id,
                  "name": name or f"{rule.name}: {resource_type} {resource_uuid}"})
    if created:
        publish_new_row("Alarm", alarm.uuid, alarm.account_id, {"name": alarm.name, "state": alarm.state})
    return alarm


def change_state(alarm, to_state, *, reason, caused_by, value=None, details=None, resource_name="", now=None):
    """Move ``alarm`` to ``to_state`` (nothing happens when it is there already); returns the history row."""
    with transaction.atomic():
        locked = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if locked.state == to_state:
            return None
        now = now or timezone.now()
        from_state = locked.state
        locked.state, locked.value, locked.reason = to_state, value, reason
        locked.changed_at, locked.pending_since = now, None
        locked.notified_at = now
        locked.save()
        publish_resource_change("Alarm", locked.uuid, "update", {
            "before": {"state": from_state},
            "after": {"state": to_state, "value": value, "reason": reason, "changed_at": now}})
        history = _history(locked.rule, locked, from_state, to_state, reason, caused_by, value, details,
                           resource_name)
    return history


def remind(alarm, *, reason, caused_by, value=None, details=None, now=None):
    """A reminder that ``alarm`` is still in Alarm, when its rule's repeat interval has passed."""
    rule = alarm.rule
    if not rule.repeat_interval or alarm.state != AlarmState.ALARM:
        return None
    now = now or timezone.now()
    if alarm.notified_at and (now - alarm.notified_at).total_seconds() < rule.repeat_interval:
        return None
    # a compare-and-set on notified_at: two evaluators never both remind
    if not Alarm.objects.filter(pk=alarm.pk, notified_at=alarm.notified_at).update(notified_at=now, value=value):
        return None
    return _history(rule, alarm, alarm.state, alarm.state, reason, caused_by, value, details, "", reminder=True)


def notice(rule, resource_type, resource_uuid, *, reason, caused_by, resource_name="", details=None):
    """An event rule's one-off message (a failed job, a VM state change): history and notifications."""
    return _history(rule, None, "", "", reason, caused_by, None, details, resource_name,
                    resource_type=resource_type, resource_uuid=resource_uuid)


def _history(rule, alarm, from_state, to_state, reason, caused_by, value, details, resource_name,
             reminder=False, resource_type=None, resource_uuid=None):
    history = AlarmHistory.objects.create(
        account_id=rule.account_id, alarm=alarm, rule=rule,
        resource_type=resource_type or alarm.resource_type, resource_uuid=resource_uuid or alarm.resource_uuid,
        resource_name=resource_name, from_state=from_state, to_state=to_state, reminder=reminder,
        reason=reason, caused_by=caused_by, value=value, details=details or {})
    publish_new_row("AlarmHistory", history.uuid, history.account_id,
                    {"from_state": from_state, "to_state": to_state, "resource_name": resource_name})
    if not rule.muted:
        queue_deliveries(history)
    return history


def queue_deliveries(history):
    endpoints = list(history.rule.endpoints.filter(state=EnableState.ENABLED))
    if not endpoints:
        return []
    now = timezone.now()
    deliveries = [Delivery(account_id=e.account_id, endpoint=e, history=history, state=DeliveryState.PENDING,
                           next_attempt_at=now) for e in endpoints]
    Delivery.objects.bulk_create(deliveries)
    transaction.on_commit(_kick_delivery)
    return deliveries


def _kick_delivery():
    """Deliver at once rather than on the next beat tick (the tick retries what fails)."""
    from celery import current_app

    # by name: the task module reaches this one through the evaluations it runs
    current_app.tasks["apps.monitoring.tasks.deliver_notifications"].delay()

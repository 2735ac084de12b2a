"""Metric rules, evaluated on beat: each rule asks the metrics store for its resources' aggregate
over its window (``aggregate(kind, metric, uuids, window_seconds, how)``, the contract of
``apps.monitoring.store``) and compares it with its threshold. The condition must hold for the rule's
``duration_seconds`` before the alarm fires; it resolves on the first evaluation where it no longer
holds. A resource the store has no data for keeps its state (no data is not a value)."""
import logging
import operator

from django.utils import timezone

from apps.compute.models import VmInstance, VmState
from apps.infra.models import Host

from . import alarming
from .models import AlarmRule, AlarmState, Comparison, ResourceKind, RuleKind
from .owners import visible_resources

log = logging.getLogger(__name__)

COMPARE = {Comparison.GT: operator.gt, Comparison.GE: operator.ge, Comparison.LT: operator.lt,
           Comparison.LE: operator.le}
MODELS = {ResourceKind.HOST: Host, ResourceKind.VM: VmInstance}
RESOURCE_TYPES = {ResourceKind.HOST: "Host", ResourceKind.VM: "VmInstance"}


def default_store():
    from .store import get_store  # the metrics store (helper 2's part of issue 17)

    return get_store()


def watched(rule):
    """{uuid: name} of the resources ``rule`` watches, as its account may see them."""
    model = MODELS[rule.resource_kind]
    queryset = visible_resources(model, rule.account, rule.resource_uuids, rule.resource_filter)
    if model is VmInstance:
        queryset = queryset.exclude(state__in=[VmState.DESTROYED, VmState.EXPUNGING])
    return {str(uuid): name for uuid, name in queryset.values_list("uuid", "name")}


def _describe(rule, value):
    return (f"{rule.metric} ({rule.aggregation} over {rule.window_seconds} s) is {value:g}, "
            f"{'' if COMPARE[rule.comparison](value, rule.threshold) else 'no longer '}"
            f"{rule.comparison} {rule.threshold:g}")


def evaluate_rule(rule, store, now=None):
    """One evaluation of a metric rule; returns the history rows it wrote."""
    now = now or timezone.now()
    resources = watched(rule)
    alarms = {str(a.resource_uuid): a for a in rule.alarms.all()}
    caused_by = f"evaluation of rule {rule.name}"
    # a resource the rule no longer watches (deleted, destroyed, out of its set) is not left in Alarm
    written = [alarming.change_state(alarm, AlarmState.OK, reason="the resource is no longer watched by the rule "
                                     "(deleted, destroyed or out of its set)", caused_by=caused_by, now=now)
               for uuid, alarm in alarms.items() if uuid not in resources and alarm.state == AlarmState.ALARM]
    if not resources:
        return [h for h in written if h is not None]
    values = store.aggregate(rule.resource_kind, rule.metric, list(resources), rule.window_seconds,
                             how=rule.aggregation)
    compare = COMPARE[rule.comparison]
    resource_type = RESOURCE_TYPES[rule.resource_kind]
    for uuid, name in resources.items():
        value = values.get(uuid)
        if value is None:
            continue
        alarm = alarms.get(uuid)
        details = {"metric": rule.metric, "aggregation": rule.aggregation, "window_seconds": rule.window_seconds,
                   "comparison": rule.comparison, "threshold": rule.threshold,
                   "duration_seconds": rule.duration_seconds}
        if compare(value, rule.threshold):
            if alarm is None:
                alarm = alarming.alarm_for(rule, resource_type, uuid, f"{rule.name}: {name}")
            if alarm.state == AlarmState.ALARM:
                written.append(alarming.remind(alarm, reason=_describe(rule, value), caused_by=caused_by,
                                               value=value, details=details, now=now))
                continue
            if alarm.pending_since is None:
                alarm.pending_since = now
                type(alarm).objects.filter(pk=alarm.pk).update(pending_since=now, value=value)
            held = (now - alarm.pending_since).total_seconds()
            if held >= rule.duration_seconds:
                details["held_seconds"] = round(held, 3)
                written.append(alarming.change_state(
                    alarm, AlarmState.ALARM, reason=f"{_describe(rule, value)} for {held:g} s", caused_by=caused_by,
                    value=value, details=details, resource_name=name, now=now))
        elif alarm is not None:
            if alarm.state == AlarmState.ALARM:
                written.append(alarming.change_state(alarm, AlarmState.OK, reason=_describe(rule, value),
                                                     caused_by=caused_by, value=value, details=details,
                                                     resource_name=name, now=now))
            elif alarm.pending_since is not None:
                type(alarm).objects.filter(pk=alarm.pk).update(pending_since=None, value=value)
    return [h for h in written if h is not None]


def evaluate_metric_rules(store=None, now=None):
    """Beat: every metric rule once. A rule whose evaluation fails (the store is down) is logged and
    the others still run. Returns how many history rows were written."""
    rules = list(AlarmRule.objects.select_related("account").filter(kind=RuleKind.METRIC))
    if not rules:
        return 0
    store = store or default_store()
    written = 0
    for rule in rules:
        try:
            written += len(evaluate_rule(rule, store, now))
        except Exception:  # noqa: BLE001
            log.exception("alarm rule %s (%s) could not be evaluated", rule.name, rule.uuid)
    return written

"""Event rules: what raises, resolves or is told about an alarm when something happens.

The events are the changes other apps already make: a host's status (ping, reconnect), a backup
storage's status (its check), a VM's state (the hypervisor's reports), a failed job. The first three
are read from the models' save signals (monitoring sits above those apps and listens, they never
call up); failed jobs are read by a beat scan of the jobs table (``scan_failed_jobs``). A local primary
storage is a directory on the hosts of its clusters: it is Disconnected when none of them is
Connected, and Connected again when one is (``primary_storage_events``).
"""
import logging

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from apps.compute.models import VmInstance, VmState
from apps.core import context as actx
from apps.core.models import Job, JobState
from apps.infra.models import Host, HostStatus
from apps.storage.models import BackupStorage, BackupStorageStatus, PrimaryStorage

from . import alarming
from .models import Alarm, AlarmRule, AlarmState, EventCursor, EventType
from .owners import visible_resources

log = logging.getLogger(__name__)

WATCHED = {Host: "status", BackupStorage: "status", VmInstance: "state"}
# an event that ends what another raised: Connected resolves the Disconnected alarm of the resource
RESOLVES = {
    EventType.HOST_CONNECTED: EventType.HOST_DISCONNECTED,
    EventType.BACKUP_STORAGE_CONNECTED: EventType.BACKUP_STORAGE_DISCONNECTED,
    EventType.PRIMARY_STORAGE_CONNECTED: EventType.PRIMARY_STORAGE_DISCONNECTED,
}
RAISING = {EventType.HOST_DISCONNECTED, EventType.BACKUP_STORAGE_DISCONNECTED,
           EventType.PRIMARY_STORAGE_DISCONNECTED, EventType.VM_STOPPED_UNEXPECTEDLY}
BUILTIN_WATCHED = {EventType.HOST_DISCONNECTED, EventType.BACKUP_STORAGE_DISCONNECTED,
                   EventType.PRIMARY_STORAGE_DISCONNECTED}
RUNNING_STATES = {VmState.RUNNING, VmState.PAUSED}
GONE_STATES = {VmState.DESTROYED, VmState.EXPUNGING}


def _remember_before(sender, instance, raw=False, **kwargs):
    field = WATCHED.get(sender)
    if field and not raw and not instance._state.adding:
        instance.__dict__["_monitoring_before"] = instance._snapshot.get(field)


def _saved(sender, instance, created, raw=False, **kwargs):
    field = WATCHED.get(sender)
    before = instance.__dict__.pop("_monitoring_before", None)
    if not field or raw or created:
        return
    after = getattr(instance, field)
    if before is None or before == after:
        return
    events = events_of(instance, before, after)
    if events:
        transaction.on_commit(lambda: handle_safely(events))


def connect():
    for model in WATCHED:
        pre_save.connect(_remember_before, sender=model, dispatch_uid=f"monitoring-before-{model.__name__}")
        post_save.connect(_saved, sender=model, dispatch_uid=f"monitoring-saved-{model.__name__}")


def _caused_by(what):
    """What made the change: the job or the request (and who asked), else the beat task that found it."""
    user = actx.actor.get()
    by = f" by {user.username}" if getattr(user, "username", "") else ""
    job = actx.job_uuid.get()
    if job:
        return f"{what} (job {job}{by})"
    request = actx.request_id.get()
    return f"{what} (request {request}{by})" if request else what


def _event(type_, obj, before, after, caused_by, account_id=None, details=None):
    return {"type": type_, "resource_type": obj.resource_type() if hasattr(obj, "resource_type") else "Job",
            "resource_uuid": obj.uuid, "resource_name": getattr(obj, "name", "") or "",
            "account_id": account_id, "before": before, "after": after, "caused_by": caused_by,
            "details": details or {}}


def events_of(obj, before, after):
    """The events of one status/state change of a watched row."""
    what = f"{type(obj).__name__} {obj.name}: {before} -> {after}"
    caused_by = _caused_by(what)
    if isinstance(obj, Host):
        if after == HostStatus.DISCONNECTED:
            return [_event(EventType.HOST_DISCONNECTED, obj, before, after, caused_by)]
        if after == HostStatus.CONNECTED:
            return [_event(EventType.HOST_CONNECTED, obj, before, after, caused_by)]
        return []
    if isinstance(obj, BackupStorage):
        kind = (EventType.BACKUP_STORAGE_DISCONNECTED if after == BackupStorageStatus.DISCONNECTED
                else EventType.BACKUP_STORAGE_CONNECTED)
        return [_event(kind, obj, before, after, caused_by)]
    # a VM: every change is a vm.state_changed; Stopped with no job of the portal's behind it,
    # from a running state, is a stop nobody asked for
    events = [_event(EventType.VM_STATE_CHANGED, obj, before, after, caused_by, obj.account_id)]
    if after == VmState.STOPPED and before in RUNNING_STATES and actx.job_uuid.get() is None:
        events.append(_event(EventType.VM_STOPPED_UNEXPECTEDLY, obj, before, after, caused_by, obj.account_id))
    return events


def _matches(rule, event):
    """Whether ``rule`` watches the event's resource: its own account's only, unless an admin's."""
    if rule.resource_uuids and str(event["resource_uuid"]) not in {str(u) for u in rule.resource_uuids}:
        return False
    if rule.event_states and event["after"] not in rule.event_states:
        return False
    account = rule.account
    admin = account is None or account.is_admin
    if not admin and event["account_id"] != rule.account_id:
        return False
    if rule.resource_filter and event["resource_type"] in MODELS:
        model = MODELS[event["resource_type"]]
        return visible_resources(model, account, [event["resource_uuid"]], rule.resource_filter).exists()
    return True


MODELS = {"Host": Host, "BackupStorage": BackupStorage, "PrimaryStorage": PrimaryStorage, "VmInstance": VmInstance,
          "Job": Job}


def handle_safely(events):
    """After the change is committed: an alarm that cannot be written is logged, never a failure of
    the ping, the job or the request that made the change."""
    for event in events:
        try:
            handle(event)
        except Exception:  # noqa: BLE001
            log.exception("alarm handling of %s on %s failed", event["type"], event["resource_uuid"])


def handle(event):
    """Apply one event: resolve what it ends, raise or tell what watches it."""
    from .builtin import ensure_builtin_rules

    type_ = event["type"]
    if type_ in BUILTIN_WATCHED:
        ensure_builtin_rules()
    resolved = RESOLVES.get(type_)
    if type_ == EventType.VM_STATE_CHANGED and (event["after"] in RUNNING_STATES or event["after"] in GONE_STATES):
        resolved = EventType.VM_STOPPED_UNEXPECTEDLY
    if resolved and AlarmRule.objects.kept_event_rules(resolved):
        for alarm in Alarm.objects.select_related("rule").filter(
                resource_uuid=event["resource_uuid"], state=AlarmState.ALARM, rule__event_type=resolved):
            alarming.change_state(alarm, AlarmState.OK, reason=f"{event['resource_type']} {event['resource_name']} "
                                  f"is {event['after']} again", caused_by=event["caused_by"],
                                  details={"event": type_}, resource_name=event["resource_name"])
    for rule in AlarmRule.objects.kept_event_rules(type_):
        if not _matches(rule, event):
            continue
        reason = f"{event['resource_type']} {event['resource_name'] or event['resource_uuid']}: {type_}"
        if event["before"] is not None:
            reason += f" ({event['before']} -> {event['after']})"
        details = dict(event["details"], event=type_, before=event["before"], after=event["after"])
        if type_ in RAISING:
            alarm = alarming.alarm_for(rule, event["resource_type"], event["resource_uuid"],
                                       f"{rule.name}: {event['resource_name']}")
            alarming.change_state(alarm, AlarmState.ALARM, reason=reason, caused_by=event["caused_by"],
                                  details=details, resource_name=event["resource_name"])
        else:
            alarming.notice(rule, event["resource_type"], event["resource_uuid"], reason=reason,
                            caused_by=event["caused_by"], resource_name=event["resource_name"], details=details)
    if type_ in (EventType.HOST_DISCONNECTED, EventType.HOST_CONNECTED):
        for follow in primary_storage_events(event):
            handle(follow)


def primary_storage_events(event):
    """The primary storage events a host's status change brings: Disconnected for each primary
    storage of its cluster no Connected host reaches any more; Connected for each that was in Alarm
    and is reached again."""
    host = Host.objects.filter(uuid=event["resource_uuid"]).only("id", "cluster_id").first()
    if host is None:
        return []
    events = []
    for ps in PrimaryStorage.objects.filter(clusters=host.cluster_id).distinct():
        reached = Host.objects.filter(cluster__primary_storages=ps, status=HostStatus.CONNECTED).exists()
        if event["type"] == EventType.HOST_DISCONNECTED and not reached:
            events.append(_event(EventType.PRIMARY_STORAGE_DISCONNECTED, ps, "Connected", "Disconnected",
                                 f"{event['caused_by']}; no Connected host reaches it"))
        elif event["type"] == EventType.HOST_CONNECTED and reached and Alarm.objects.filter(
                resource_uuid=ps.uuid, state=AlarmState.ALARM).exists():
            events.append(_event(EventType.PRIMARY_STORAGE_CONNECTED, ps, "Disconnected", "Connected",
                                 event["caused_by"]))
    return events


FAILED_JOBS_CURSOR = "failed-jobs"


def scan_failed_jobs(now=None):
    """Beat: a job.failed event for every job that failed since the last scan (the first scan only
    starts the cursor: old failures are history, not news). Returns how many were seen."""
    now = now or timezone.now()
    cursor, created = EventCursor.objects.get_or_create(name=FAILED_JOBS_CURSOR, defaults={"position": now})
    if created:
        return 0
    jobs = list(Job.objects.filter(state=JobState.FAILED, finished_at__gt=cursor.position)
                .order_by("finished_at", "id")[:500])
    if not jobs:
        return 0
    if not EventCursor.objects.filter(pk=cursor.pk, position=cursor.position).update(position=jobs[-1].finished_at):
        return 0  # another beat scanned them
    for job in jobs:
        error = job.error or {}
        caused_by = f"job {job.uuid} ({job.action}) failed: {error.get('code', '')} {error.get('message', '')}"
        event = {"type": EventType.JOB_FAILED, "resource_type": "Job", "resource_uuid": job.uuid,
                 "resource_name": job.action, "account_id": job.account_id, "before": None,
                 "after": JobState.FAILED, "caused_by": caused_by.strip(),
                 "details": {"error": error, "target_type": job.resource_type,
                             "target_uuid": str(job.resource_uuid) if job.resource_uuid else None}}
        handle(event)
    return len(jobs)

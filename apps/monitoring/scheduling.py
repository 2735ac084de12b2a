"""Scheduled VM operations, run on beat: every due schedule starts its action as an ordinary job (the
same flow, state checks and 409s as ``POST /vm-instances/<uuid>/<action>/``) and records the run.
Cron expressions are read with ``cronsim`` in the schedule's time zone, so "07:30 on weekdays" is
07:30 where the operator is, across daylight-saving changes."""
import logging
from datetime import timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.utils import timezone

from apps.compute.vm_service import start_action
from apps.core.errors import CloudPortalError
from apps.core.states import EnableState

from .models import ScheduleRun, VmSchedule
from .owners import AccountActor

log = logging.getLogger(__name__)
BATCH = 500


class BadSchedule(ValueError):
    pass


def zone(name):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadSchedule(f"unknown time zone '{name}'") from None


def next_run(cron, interval_seconds, tz_name, after):
    """The first run strictly after ``after`` (an aware datetime), in UTC."""
    if cron:
        try:
            local = after.astimezone(zone(tz_name))
            return next(iter(CronSim(cron, local))).astimezone(dt_timezone.utc)
        except CronSimError as exc:
            raise BadSchedule(f"'{cron}' is not a cron expression: {exc}") from None
    return after + timedelta(seconds=interval_seconds)


def run_due_schedules(now=None):
    """Beat: start the job of every schedule that is due. Each schedule is claimed by moving its next
    run on in one conditional UPDATE, so a second beat never runs it twice. Returns the runs made."""
    now = now or timezone.now()
    due = list(VmSchedule.objects.select_related("vm", "account").filter(
        state=EnableState.ENABLED, next_run_at__lte=now).order_by("next_run_at", "id")[:BATCH])
    runs = []
    for schedule in due:
        following = next_run(schedule.cron, schedule.interval_seconds, schedule.timezone, now)
        if not VmSchedule.objects.filter(pk=schedule.pk, next_run_at=schedule.next_run_at).update(
                next_run_at=following, last_run_at=now):
            continue
        runs.append(_run(schedule, now))
    return runs


def _run(schedule, now):
    vm = schedule.vm
    run = ScheduleRun(account_id=schedule.account_id, schedule=schedule, due_at=schedule.next_run_at)
    try:
        # compute's one way in: a VM of a public cloud (hybrid's one view) runs its cloud's flow
        job = start_action(vm, schedule.action, {}, AccountActor(schedule.account))
    except CloudPortalError as exc:  # the VM is in a state the action does not apply to, or busy
        run.outcome, run.message = "refused", f"{exc.code}: {exc}"
        log.info("schedule %s on VM %s: %s", schedule.uuid, vm.uuid, run.message)
    else:
        run.outcome, run.job_uuid = "started", job.uuid
        run.message = f"{schedule.action} started as job {job.uuid}"
    run.save()
    return run

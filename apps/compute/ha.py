"""HA (ZStack's NeverStop): a VM whose host failed is restarted on another host, never twice.

Run on beat (``ha_tick``). The host tracker (apps/infra/ping.py) marks a host Disconnected when it
misses pings; that alone proves nothing (a network cut leaves its VMs running). A Disconnected
host carrying NeverStop VMs is checked every ``ha/host.check.interval`` seconds, and it is
*confirmed down* after ``ha/host.check.times`` checks in a row that each found both:

- its agent silent (a direct ping fails), and
- its storage heartbeat stale: every agent touches ``<shared primary storage>/heartbeat/<host uuid>``
  every ``ha/heartbeat.interval`` seconds (hostagent/backends/heartbeat.py); another connected host
  of the cluster reads the file's age from the same storage. A host that still writes to the disks
  its VMs use is not down, whatever the network says. No witness able to read it: not confirmed.

Confirmed: each NeverStop VM on it becomes Stopped (its capacity there released) and gets one
``HaRestart`` row (unique per VM and failed host). Each beat then starts the due attempt as a job
on the VM (HA_RESTART_VM); a failed attempt is retried after ``ha/restart.retryDelay`` seconds,
doubled each time up to ``ha/restart.maxDelay``. The last guard is QEMU's own image lock: a QEMU
still running on a host wrongly believed down holds a write lock on the qcow2, so the restart's
QEMU cannot open it and the attempt fails (and is retried) instead of running the VM twice.
"""
import logging
import uuid as uuid_lib
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import CloudPortalError, ResourceBusy
from apps.core.models import FINISHED_STATES, Job

from apps.infra import agent
from apps.infra.models import Host, HostStatus

from .globalconfig import (HA_CHECK_INTERVAL, HA_CHECK_TIMES, HA_HEARTBEAT_INTERVAL, HA_RETRY_DELAY,
                           HA_RETRY_MAX_DELAY)
from .models import VM_STATE_MACHINE, HaLevel, HaRestart, HaRestartState, VmInstance, VmState

log = logging.getLogger(__name__)

# what HA moves: a VM the portal believes runs on the failed host
ON_FAILED_HOST = (VmState.RUNNING, VmState.PAUSED, VmState.UNKNOWN, VmState.STARTING, VmState.STOPPING,
                  VmState.REBOOTING, VmState.PAUSING, VmState.RESUMING)


# --- the storage heartbeat ----------------------------------------------------------------------------
def heartbeat_dirs(cluster_id):
    """The shared primary storages' directories the hosts of a cluster heartbeat on."""
    from apps.storage.models import PrimaryStorage, PrimaryStorageType

    return sorted({ps.root for ps in PrimaryStorage.objects.filter(clusters=cluster_id).exclude(
        type=PrimaryStorageType.LOCAL_STORAGE).only("url", "mount_path")})


def start_heartbeat(host):
    """A host connect hook: the agent heartbeats on its cluster's shared storages. A failure is
    logged, not raised: without a heartbeat HA never confirms the host down, which is the safe side."""
    dirs = heartbeat_dirs(host.cluster_id)
    if not dirs:
        return
    try:
        agent.call(host, "/v1/ha/heartbeat/start", {"dirs": dirs, "interval": HA_HEARTBEAT_INTERVAL.value()})
    except CloudPortalError as exc:
        log.warning("host %s: storage heartbeat not started: %s", host.name, exc.message)


def heartbeat_stale(host):
    """True when a witness (another Connected host of the cluster) reads every heartbeat of ``host``
    as older than two heartbeat intervals; False when one is fresh or nobody could read one."""
    limit = 2 * HA_HEARTBEAT_INTERVAL.value()
    witnesses = list(Host.objects.filter(cluster_id=host.cluster_id, status=HostStatus.CONNECTED)
                     .exclude(pk=host.pk).order_by("?")[:3])
    read = 0
    for directory in heartbeat_dirs(host.cluster_id):
        for witness in witnesses:
            try:
                age = agent.call(witness, "/v1/ha/heartbeat/read",
                                 {"dir": directory, "host_uuid": str(host.uuid)}).get("age")
            except CloudPortalError:
                continue   # another witness then
            if age is None:
                break      # never written there: this storage proves nothing
            if age < limit:
                return False
            read += 1
            break
    return read > 0


def agent_silent(host):
    from apps.infra.globalconfig import PING_TIMEOUT

    try:
        answer = agent.call(host, "/v1/host/ping", agent.agent_settings(), timeout=PING_TIMEOUT.value())
        return answer.get("host_uuid") != str(host.uuid)
    except CloudPortalError:
        return True


def host_down(host):
    """One HA check of a Disconnected host: agent silent and storage heartbeat stale."""
    return agent_silent(host) and heartbeat_stale(host)


# --- beat -------------------------------------------------------------------------------------------
def _count_key(host):
    return f"cp:ha:down:{host.uuid}"


def check_failed_hosts(gate=True):
    """Check each Disconnected host carrying NeverStop VMs (at most once per check interval when
    ``gate``); confirm those down for the configured checks. Answers the hosts confirmed."""
    interval, times = HA_CHECK_INTERVAL.value(), HA_CHECK_TIMES.value()
    hosts = Host.objects.filter(status=HostStatus.DISCONNECTED, vm_instances__ha_level=HaLevel.NEVER_STOP,
                                vm_instances__state__in=ON_FAILED_HOST).distinct()
    confirmed = []
    for host in hosts:
        if gate and not cache.add(f"cp:ha:checked:{host.uuid}", 1, max(1, interval - 1)):
            continue
        if not host_down(host):
            cache.delete(_count_key(host))
            continue
        cache.add(_count_key(host), 0, 24 * 3600)
        count = cache.incr(_count_key(host))
        log.warning("HA: host %s found down (%d of %d checks)", host.name, count, times)
        if count >= times:
            confirm_down(host)
            cache.delete(_count_key(host))
            confirmed.append(str(host.uuid))
    return confirmed


def confirm_down(host, now=None):
    """``host`` is down: its NeverStop VMs become Stopped (capacity released) and owed a restart.
    Each VM under its row lock, once (the unique HaRestart row); a VM a job holds is left for the
    next beat. Answers how many restarts were made."""
    from apps.storage.models import PrimaryStorageType

    made = 0
    now = now or timezone.now()
    vms = VmInstance.objects.filter(host=host, ha_level=HaLevel.NEVER_STOP, state__in=ON_FAILED_HOST,
                                    busy_job__isnull=True)
    # a root volume on local storage died with its host: no other host can start the VM
    local = vms.filter(root_volume__primary_storage__type=PrimaryStorageType.LOCAL_STORAGE)
    for vm_uuid in local.values_list("uuid", flat=True):
        log.warning("HA: VM %s cannot restart elsewhere: its root volume is on the local storage of %s",
                    vm_uuid, host.name)
    for vm_uuid in vms.exclude(pk__in=local.values("pk")).values_list("uuid", flat=True):
        try:
            with transaction.atomic():
                vm = VmInstance.objects.select_for_update().filter(
                    uuid=vm_uuid, host=host, busy_job__isnull=True, state__in=ON_FAILED_HOST).first()
                if vm is None or not VM_STATE_MACHINE.can(vm.state, "stopped"):
                    continue
                # a restart after an earlier failure of the same host: the old record is history (its
                # jobs stay in the VM's job history); the row lock above serialises confirmers
                HaRestart.objects.filter(vm_instance=vm, failed_host_uuid=host.uuid).exclude(
                    state=HaRestartState.PENDING).delete()
                HaRestart.objects.create(vm_instance=vm, failed_host=host, failed_host_uuid=host.uuid,
                                         next_attempt_at=now)
                Host.objects.filter(pk=host.pk, used_cpu__gte=vm.cpu_num, used_memory__gte=vm.memory_size).update(
                    used_cpu=F("used_cpu") - vm.cpu_num, used_memory=F("used_memory") - vm.memory_size)
                vm.state = VM_STATE_MACHINE.next(vm.state, "stopped")
                vm.host, vm.last_host = None, host
                vm.save(update_fields=["state", "host", "last_host", "updated_at"])
                made += 1
                log.warning("HA: VM %s stopped with its host %s; a restart elsewhere follows", vm.uuid, host.name)
        except IntegrityError:
            continue   # another beat made it first
    return made


def backoff(attempts):
    return min(HA_RETRY_DELAY.value() * (2 ** max(0, attempts - 1)), HA_RETRY_MAX_DELAY.value())


def run_due_restarts(now=None):
    """Start the attempts that are due (one job per VM, exactly one at a time); record finished
    failures with their next attempt. Answers how many attempts were started."""
    now = now or timezone.now()
    started = 0
    for restart in HaRestart.objects.select_related("vm_instance").filter(state=HaRestartState.PENDING):
        if restart.job_uuid is not None and not _settle(restart, now):
            continue   # its attempt still runs
        if not _still_wanted(restart):
            HaRestart.objects.filter(pk=restart.pk, state=HaRestartState.PENDING).update(
                state=HaRestartState.ABANDONED)
            continue
        if restart.next_attempt_at > now:
            continue
        if _start_attempt(restart):
            started += 1
    return started


def _settle(restart, now):
    """The attempt ``restart.job_uuid`` ended? A failure schedules the next one (compare-and-set on
    the job uuid: one beat records it). False while it still runs."""
    job = Job.objects.filter(uuid=restart.job_uuid).only("state", "error").first()
    if job is not None and job.state not in FINISHED_STATES:
        return False
    attempts = restart.attempts + 1
    error = (job.error if job is not None else None) or {"code": "JOB_LOST", "message": "the attempt's job is gone"}
    next_at = now + timedelta(seconds=backoff(attempts))
    if HaRestart.objects.filter(pk=restart.pk, job_uuid=restart.job_uuid).update(
            job_uuid=None, attempts=attempts, last_error={k: error.get(k) for k in ("code", "message")},
            next_attempt_at=next_at):
        log.warning("HA: restart of VM %s failed (attempt %d): %s; next in %d s", restart.vm_instance.uuid,
                    attempts, error.get("message"), backoff(attempts))
    restart.refresh_from_db()
    return restart.state == HaRestartState.PENDING and restart.job_uuid is None


def _still_wanted(restart):
    vm = restart.vm_instance
    if vm.busy_job is not None:
        return True   # someone works on it: judged when that job is done
    return (vm.ha_level == HaLevel.NEVER_STOP and vm.state == VmState.STOPPED and vm.host_id is None
            and vm.last_host_id is not None and vm.last_host_id == restart.failed_host_id)


def _start_attempt(restart):
    from apps.core.flows import start_job

    from .flows.ha_restart import HA_RESTART_VM

    job_uuid = uuid_lib.uuid4()
    if not HaRestart.objects.filter(pk=restart.pk, state=HaRestartState.PENDING, job_uuid__isnull=True).update(
            job_uuid=job_uuid):
        return False   # another beat took this attempt
    try:
        start_job(HA_RESTART_VM, resource=restart.vm_instance, job_uuid=job_uuid,
                  args={"vm_uuid": str(restart.vm_instance.uuid), "ha_restart_id": restart.pk})
    except ResourceBusy:
        HaRestart.objects.filter(pk=restart.pk, job_uuid=job_uuid).update(job_uuid=None)
        return False
    return True


def ha_tick():
    """Beat: confirm failed hosts, then start the restarts that are due."""
    confirmed = check_failed_hosts()
    return {"confirmed_down": confirmed, "restarts_started": run_due_restarts()}

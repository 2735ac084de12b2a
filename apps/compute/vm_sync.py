"""The portal's view of VM states follows the hypervisor (ZStack's VmTracer).

Two sources: the agent's events (a domain changed behind the portal's back: libvirt
lifecycle events, sent at once) and a periodic sync on beat (``vm.sync.interval``) that
asks each connected host for its domains' states, for what an event missed. A VM a job
is working on (``busy_job``) is left to that job. A VM found Stopped gives its host's
capacity back; a VM found running again on its last host takes it again.

A report is a picture of the past: a VM changed (by a job that ended, say) after the report was
taken is judged by a later one. Every report carries the time it was asked for (the sync) or
made (an agent event), and a VM whose ``updated_at`` is later is left alone.
"""
import logging
from concurrent.futures import ThreadPoolExecutor

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import CloudPortalError

from apps.infra import agent
from apps.infra.models import Host, HostStatus

from .globalconfig import SYNC_INTERVAL
from .models import VM_STATE_MACHINE, VmInstance, VmState

log = logging.getLogger(__name__)

REPORTED = {"Running": "running", "Stopped": "stopped", "Paused": "paused"}
# states the sync may correct (a VM being created, destroyed or in the recycle bin is not)
TRACKED = (VmState.RUNNING, VmState.STOPPED, VmState.PAUSED, VmState.UNKNOWN)
SYNC_THREADS = 16


def apply_reported_state(host, vm_uuid, state, reported_at=None):
    """The hypervisor on ``host`` says VM ``vm_uuid`` is ``state`` as of ``reported_at`` (an aware
    datetime; None: now); True when the portal changed. A VM changed since is left alone."""
    event = REPORTED.get(state)
    if event is None:
        return False
    with transaction.atomic():
        vm = VmInstance.objects.select_for_update().filter(uuid=vm_uuid, busy_job__isnull=True,
                                                           state__in=TRACKED).first()
        if vm is None or vm.state == state:
            return False
        if reported_at is not None and vm.updated_at >= reported_at:
            log.info("VM %s: report of %s from host %s predates its last change; ignored", vm.uuid, state, host.name)
            return False
        on_this_host = vm.host_id == host.pk or (vm.host_id is None and vm.last_host_id == host.pk)
        if not on_this_host or not VM_STATE_MACHINE.can(vm.state, event):
            return False
        fields = ["state", "updated_at"]
        if event == "stopped" and vm.host_id is not None:
            Host.objects.filter(pk=host.pk, used_cpu__gte=vm.cpu_num, used_memory__gte=vm.memory_size).update(
                used_cpu=F("used_cpu") - vm.cpu_num, used_memory=F("used_memory") - vm.memory_size)
            vm.host, vm.last_host = None, host
            fields += ["host", "last_host"]
        elif event in ("running", "paused") and vm.host_id is None:
            # started behind the portal's back: it holds capacity whatever the ratios say
            Host.objects.filter(pk=host.pk).update(used_cpu=F("used_cpu") + vm.cpu_num,
                                                   used_memory=F("used_memory") + vm.memory_size)
            vm.host = host
            fields.append("host")
        log.info("VM %s on host %s: %s -> %s (reported by the hypervisor)", vm.uuid, host.name, vm.state, state)
        vm.state = VM_STATE_MACHINE.next(vm.state, event)
        vm.save(update_fields=fields)
    return True


def reconcile(host, reported, reported_at):
    """Compare the portal's VMs on ``host`` with ``reported`` ({vm_uuid: state}, the agent's
    list, asked for at ``reported_at``); a domain that is not in the list is Stopped. Answers how
    many VMs changed."""
    portal_vms = VmInstance.objects.filter(
        Q(host=host, state__in=TRACKED) | Q(host__isnull=True, last_host=host, state=VmState.STOPPED),
        busy_job__isnull=True)
    changed = 0
    for vm_uuid, state in portal_vms.values_list("uuid", "state"):
        seen = reported.get(str(vm_uuid), "Stopped")
        if seen != state and apply_reported_state(host, str(vm_uuid), seen, reported_at):
            changed += 1
    return changed


def _reported(host):
    """The agent's {vm_uuid: state} and the moment before it was asked: the list may miss any
    change made after that moment, never one made before."""
    asked_at = timezone.now()
    return agent.call(host, "/v1/vm/states", {}).get("vms", {}), asked_at


def apply_reported_event(host, event, reported_at):
    """A "vm.state" event an agent sent (apps.infra.agent_events): the VM's state as the hypervisor saw it."""
    if isinstance(event.get("vm_uuid"), str):
        try:
            apply_reported_state(host, event["vm_uuid"], event.get("state"), reported_at)
        except (ValueError, ValidationError):
            pass  # a malformed uuid: nothing to apply


def sync_host(host):
    return reconcile(host, *_reported(host))


def sync_due_hosts():
    """Beat: the VMs of every connected host that carries VMs, at most once per vm.sync.interval.
    The agents are asked concurrently (threads, no database there); the answers are applied here."""
    from django.core.cache import cache

    if not cache.add("cp:vm-sync:lock", 1, max(1, SYNC_INTERVAL.value() - 1)):
        return {"hosts": 0, "changed": 0, "failed": 0}  # synced recently (by another tick or process)
    host_ids = set(VmInstance.objects.filter(state__in=TRACKED, host__isnull=False)
                   .values_list("host_id", flat=True).distinct())
    host_ids |= set(VmInstance.objects.filter(state=VmState.STOPPED, host__isnull=True, last_host__isnull=False)
                    .values_list("last_host_id", flat=True).distinct())
    hosts = list(Host.objects.filter(pk__in=host_ids, status=HostStatus.CONNECTED))

    def fetch(host):
        try:
            return _reported(host)
        except CloudPortalError as exc:
            log.info("VM sync of host %s skipped: %s", host.name, exc.message)
            return None

    changed = failed = 0
    if hosts:
        with ThreadPoolExecutor(max_workers=min(SYNC_THREADS, len(hosts))) as pool:
            answers = list(pool.map(fetch, hosts))
        for host, reported in zip(hosts, answers):
            if reported is None:
                failed += 1
            else:
                changed += reconcile(host, *reported)
    return {"hosts": len(hosts), "changed": changed, "failed": failed}


def reapply_vm_dhcp(host):
    """A host that (re)connects serves DHCP again for the VMs that live on it: its dnsmasq state
    may be gone (a rebooted host, a restarted simulator). A host connect hook (flows/hosts.py)."""
    from apps.network.dhcp import apply_dhcp, host_error
    from apps.network.models import L3Network

    from .models import VmNic

    nics = VmNic.objects.filter(Q(vm_instance__host=host) | Q(vm_instance__host__isnull=True,
                                                              vm_instance__last_host=host),
                                l3_network__dhcp=True).exclude(
        vm_instance__state__in=[VmState.DESTROYED, VmState.EXPUNGING]).values_list("l3_network_id", "mac", "ip")
    by_l3 = {}
    for l3_id, mac, ip in nics:
        by_l3.setdefault(l3_id, []).append({"mac": mac, "ip": ip})
    for l3 in L3Network.objects.select_related("l2_network").filter(pk__in=by_l3):
        try:
            apply_dhcp(host, l3, by_l3[l3.pk])
        except CloudPortalError as exc:
            raise host_error(host, f"serving DHCP for the VMs of L3 network {l3.name}", exc) from None

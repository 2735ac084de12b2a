"""A VM's life after create: start, stop, power off, reboot, pause, resume, destroy, expunge.

Each action is a flow: ``Begin(event)`` fires the "-ing" event (start -> Starting) and its
rollback puts the VM back in the state it was in; the hypervisor steps follow; ``End(event)``
fires the outcome. The view checks the table before starting the job (a wrong-state action is
a 409 naming the state at once) and Begin checks it again under a row lock.

Capacity follows the VM as in ZStack: a VM holds CPU and memory on its host while it is
started; stop, power off and destroy give them back and clear ``host`` (``last_host`` stays,
and local storage means a VM starts again on its last host).
"""
from django.utils import timezone

from apps.core.errors import CloudPortalError, Unplaceable
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.network.flows.vm_steps import ApplyDhcp, nics_of, release_dhcp_entries, release_nic_ips
from apps.storage.flows.vm_steps import DeleteRootVolume

from apps.infra.models import Host

from ..globalconfig import STOP_TIMEOUT
from ..models import VM_STATE_MACHINE, VmInstance, VmNic
from .guest import ReleaseGuestFiles
from .vm_common import connected_host, define_body, fire, hypervisor, ignore_missing, vm_of
from .volume_attach import DetachDataVolumes


class Begin(DbStep):
    event = None

    def run(self, ctx):
        vm = vm_of(ctx)
        if self.event not in ("destroying", "expunging") and vm.host_id is not None:
            connected_host(vm.host)
        setattr(ctx, self._key(), vm.state)
        fire(vm.uuid, self.event)

    def rollback(self, ctx):
        """Back to the state before, unless the action got past its "-ing" state (a destroy that
        completed before a later expunge step failed stays destroyed)."""
        previous = ctx.get(self._key())
        if previous and vm_of(ctx).state == VM_STATE_MACHINE.next(previous, self.event):
            fire(ctx.args["vm_uuid"], previous.lower())

    def _key(self):
        # one key per Begin: destroy-and-expunge has two, and each goes back to its own state
        return f"state_before_{self.event}"

    @classmethod
    def of(cls, event):
        return type(f"Begin{event.capitalize()}", (cls,), {"event": event})


class End(DbStep, NoRollback):
    event = None
    release_host = False

    def run(self, ctx):
        fields = {}
        if self.release_host:
            vm = vm_of(ctx)
            if vm.host_id is not None:
                vm.host.release(vm.cpu_num, vm.memory_size)
                fields = {"host": None, "last_host": vm.host}
        if self.event == "destroyed":
            fields["destroyed_at"] = timezone.now()
        vm = fire(ctx.args["vm_uuid"], self.event, **fields)
        ctx.result = {"vm_uuid": str(vm.uuid), "state": vm.state}
        if ctx.get("domain_left"):
            ctx.result["domain_left"] = ctx.domain_left  # the domain that stayed on an unreachable last host

    @classmethod
    def of(cls, event, release_host=False):
        return type(f"End{event.capitalize()}", (cls,), {"event": event, "release_host": release_host})


def _call(ctx, path, **extra):
    """``path`` for the VM on its (connected) host; a graceful stop may take its ``timeout`` and more."""
    vm = vm_of(ctx)
    host = connected_host(vm.host)
    timeout = extra["timeout"] + 30 if "timeout" in extra else None
    return hypervisor(ctx, host, path, {"vm_uuid": str(vm.uuid), **extra}, timeout=timeout)


class ReserveOnLastHost(DbStep):
    """A stopped VM starts on the host its local root volume lives on."""

    def run(self, ctx):
        vm = vm_of(ctx)
        host = vm.host or vm.last_host
        if host is None:
            raise Unplaceable("the VM has no host to start on", code="NO_HOST_AVAILABLE")
        connected_host(host)
        if host.state == "Maintenance":   # emptied for work on it (host_maintenance.py): nothing starts there
            raise CloudPortalError(f"host {host.name} is in Maintenance: the VM cannot start on it",
                                   code="HOST_IN_MAINTENANCE", status=409,
                                   details={"host_uuid": str(host.uuid), "state": host.state})
        if vm.host_id is None:
            if not host.reserve(vm.cpu_num, vm.memory_size):
                raise Unplaceable(f"host {host.name} has not {vm.cpu_num} CPUs and {vm.memory_size} bytes free "
                                  "for the VM", code="NO_HOST_AVAILABLE", details={"host_uuid": str(host.uuid)})
            ctx.reserved_on = str(host.uuid)
            VmInstance.objects.filter(pk=vm.pk).update(host=host)
        ctx.host_uuid = str(host.uuid)
        ctx.nics = nics_of(vm.uuid)

    def rollback(self, ctx):
        if ctx.get("reserved_on"):
            vm = vm_of(ctx)
            Host.objects.get(uuid=ctx.reserved_on).release(vm.cpu_num, vm.memory_size)
            VmInstance.objects.filter(pk=vm.pk).update(host=None)


class DefineAndStart(RemoteStep):
    """Define (again: the definition follows the portal) and start the domain."""

    def run(self, ctx):
        vm = vm_of(ctx)
        volume = vm.root_volume
        hypervisor(ctx, vm.host, "/v1/vm/define", define_body(vm, ctx.nics, volume.install_path, volume.format))
        hypervisor(ctx, vm.host, "/v1/vm/start", {"vm_uuid": str(vm.uuid)})

    def rollback(self, ctx):
        vm = vm_of(ctx)
        if vm.host is not None:
            ignore_missing(lambda: hypervisor(ctx, vm.host, "/v1/vm/destroy", {"vm_uuid": str(vm.uuid)}))


class StopOnHypervisor(RemoteStep, NoRollback):
    """Graceful (ACPI) for vm.stop.timeout seconds, then powered off."""

    def run(self, ctx):
        timeout = ctx.args.get("timeout", STOP_TIMEOUT.value())
        _call(ctx, "/v1/vm/stop", timeout=timeout, force=True)


class PowerOffOnHypervisor(RemoteStep, NoRollback):
    def run(self, ctx):
        _call(ctx, "/v1/vm/destroy")


class RebootOnHypervisor(RemoteStep, NoRollback):
    def run(self, ctx):
        _call(ctx, "/v1/vm/reboot", force=bool(ctx.args.get("force")))


class PauseOnHypervisor(RemoteStep, NoRollback):
    def run(self, ctx):
        _call(ctx, "/v1/vm/pause")


class ResumeOnHypervisor(RemoteStep, NoRollback):
    def run(self, ctx):
        _call(ctx, "/v1/vm/resume")


class RemoveDomain(RemoteStep, NoRollback):
    """Destroy (and expunge): the domain goes (powered off and undefined) from the host it is
    defined on; volumes and addresses stay for recover. A stopped VM has no ``host`` (stop, power
    off and a create with ``"start": false`` give the host back) but its domain stays defined on
    ``last_host``: it is undefined there. When that host cannot be reached the destroy still
    succeeds and says so (``result.domain_left``); the expunge tries again."""

    def run(self, ctx):
        if ctx.get("domain_removed"):
            return  # destroy-and-expunge: the destroy's RemoveDomain did it
        vm = vm_of(ctx)
        undefine = {"vm_uuid": str(vm.uuid)}
        if vm.host_id is not None:
            host = connected_host(vm.host)
            ignore_missing(lambda: hypervisor(ctx, host, "/v1/vm/undefine", undefine))
        elif vm.last_host_id is not None:
            host = vm.last_host
            try:
                ignore_missing(lambda: hypervisor(ctx, connected_host(host), "/v1/vm/undefine", undefine))
            except CloudPortalError as exc:
                if exc.code not in ("HOST_DISCONNECTED", "HOST_AGENT_UNREACHABLE"):
                    raise
                ctx.domain_left = {"host_uuid": str(host.uuid), "code": exc.code, "message": exc.message}
                return
        ctx.domain_removed = True
        ctx.domain_left = None


class ReleaseAddresses(RemoteStep, NoRollback):
    """Expunge: the DHCP entries on the last host, then the addresses and NICs."""

    def run(self, ctx):
        vm = vm_of(ctx)
        nics = nics_of(vm.uuid)
        host = vm.host or vm.last_host
        if host is not None and nics:
            try:
                release_dhcp_entries(host, nics)
            except CloudPortalError as exc:  # an unreachable host keeps a stale entry; the addresses still go
                ctx.dhcp_left = {"host_uuid": str(host.uuid), "code": exc.code, "message": exc.message}
        release_nic_ips(vm_uuid=str(vm.uuid))
        VmNic.objects.filter(vm_instance=vm).delete()


class PrepareExpunge(DbStep, NoRollback):
    """What the storage step needs to find the root volume."""

    def run(self, ctx):
        vm = vm_of(ctx)
        ctx.root_volume_uuid = str(vm.root_volume.uuid) if vm.root_volume_id else None
        ctx.vm_uuid = str(vm.uuid)


class DeleteVmRow(DbStep, NoRollback):
    def run(self, ctx):
        VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).delete()
        ctx.result = {"vm_uuid": ctx.args["vm_uuid"], "expunged": True}
        if ctx.get("dhcp_left"):
            ctx.result["dhcp_left"] = ctx.dhcp_left  # the DHCP entry that stayed on an unreachable host
        if ctx.get("domain_left"):
            ctx.result["domain_left"] = ctx.domain_left  # the domain that stayed on an unreachable host


START_VM = Flow("start-vm", [Begin.of("starting"), ReserveOnLastHost, ApplyDhcp, DefineAndStart,
                             End.of("running")], action="start-vm")
STOP_VM = Flow("stop-vm", [Begin.of("stopping"), StopOnHypervisor, End.of("stopped", release_host=True)],
               action="stop-vm")
POWER_OFF_VM = Flow("power-off-vm", [Begin.of("stopping"), PowerOffOnHypervisor,
                                     End.of("stopped", release_host=True)], action="power-off-vm")
REBOOT_VM = Flow("reboot-vm", [Begin.of("rebooting"), RebootOnHypervisor, End.of("running")], action="reboot-vm")
PAUSE_VM = Flow("pause-vm", [Begin.of("pausing"), PauseOnHypervisor, End.of("paused")], action="pause-vm")
RESUME_VM = Flow("resume-vm", [Begin.of("resuming"), ResumeOnHypervisor, End.of("running")], action="resume-vm")
DESTROY_VM = Flow("destroy-vm", [Begin.of("destroying"), RemoveDomain, End.of("destroyed", release_host=True)],
                  action="destroy-vm")
# expunge removes the domain again: one a destroy could not reach (or an older portal left) goes
# before its disk does
EXPUNGE_VM = Flow("expunge-vm", [Begin.of("expunging"), RemoveDomain, PrepareExpunge, DeleteRootVolume,
                                 ReleaseAddresses, DetachDataVolumes, ReleaseGuestFiles, DeleteVmRow], action="expunge-vm")

# API action -> (flow, the event the view checks before starting it)
ACTIONS = {
    "start": (START_VM, "starting"),
    "stop": (STOP_VM, "stopping"),
    "power-off": (POWER_OFF_VM, "stopping"),
    "reboot": (REBOOT_VM, "rebooting"),
    "pause": (PAUSE_VM, "pausing"),
    "resume": (RESUME_VM, "resuming"),
    "expunge": (EXPUNGE_VM, "expunging"),
}

DESTROY_AND_EXPUNGE_VM = Flow("destroy-expunge-vm", [
    Begin.of("destroying"), RemoveDomain, End.of("destroyed", release_host=True),
    Begin.of("expunging"), RemoveDomain, PrepareExpunge, DeleteRootVolume, ReleaseAddresses, DetachDataVolumes, ReleaseGuestFiles,
    DeleteVmRow,
], action="destroy-vm")

# what an action needs of the VM's host before it starts (destroy/expunge can do without one)
NEEDS_CONNECTED_HOST = ("start", "stop", "power-off", "reboot", "pause", "resume")


def plan_action(vm, name, body):
    """The flow of action ``name`` on ``vm`` and its args, once the state table and the host allow it
    (409 naming the state otherwise)."""
    from ..globalconfig import DELETION_POLICY

    if name == "destroy":
        VM_STATE_MACHINE.next(vm.state, "destroying")
        flow = DESTROY_AND_EXPUNGE_VM if DELETION_POLICY.value() == "Direct" else DESTROY_VM
    else:
        flow, event = ACTIONS[name]
        VM_STATE_MACHINE.next(vm.state, event, action=name)   # InvalidState (409) naming the state
        if name in NEEDS_CONNECTED_HOST:
            connected_host(vm.host or vm.last_host)
    args = {"vm_uuid": str(vm.uuid)}
    if name == "stop" and isinstance(body.get("timeout"), int) and body["timeout"] >= 0:
        args["timeout"] = body["timeout"]
    if name == "reboot":
        args["force"] = bool(body.get("force"))
    return flow, args


def expunge_due_vms(now=None):
    """Beat: VMs destroyed more than vm.expungePeriod ago go for good (policy Delay)."""
    from datetime import timedelta

    from apps.core.errors import CloudPortalError
    from apps.core.flows import start_job

    from ..globalconfig import DELETION_POLICY, EXPUNGE_PERIOD
    from ..models import VmState

    if DELETION_POLICY.value() != "Delay":
        return {"expunging": 0}
    cutoff = (now or timezone.now()) - timedelta(seconds=EXPUNGE_PERIOD.value())
    started = 0
    for vm in VmInstance.objects.filter(state=VmState.DESTROYED, destroyed_at__lt=cutoff, busy_job__isnull=True)[:500]:
        try:
            start_job(EXPUNGE_VM, resource=vm, args={"vm_uuid": str(vm.uuid)})
            started += 1
        except CloudPortalError:
            continue  # busy meanwhile: next round
    return {"expunging": started}

"""HA restart of a NeverStop VM whose host was confirmed down (apps/compute/ha.py decides when).

The VM is Stopped by then (HA gave its failed host's capacity back); this flow starts it on
another host of the same cluster that reaches its shared primary storage. Begin checks the VM
under its row lock: a VM anybody started, stopped or destroyed since is not HA's any more, so
two attempts can never both start it. A failure rolls back to Stopped and HA tries again later.
"""
from apps.core.errors import CloudPortalError
from apps.core.flows import DbStep, Flow, NoRollback
from apps.network.flows.vm_steps import ApplyDhcp, nics_of

from apps.infra.models import Host

from ..models import HaLevel, HaRestart, HaRestartState, VmInstance, VmState
from .vm_common import vm_of
from .vm_lifecycle import Begin, DefineAndStart, End


class HaNotWanted(CloudPortalError):
    status = 409
    code = "HA_RESTART_NOT_WANTED"


def _restart(ctx):
    return HaRestart.objects.get(pk=ctx.args["ha_restart_id"])


class CheckHaRestart(DbStep, NoRollback):
    """Still HA's to restart: NeverStop, Stopped by HA (no host, the failed one as its last), the
    restart pending. The Begin step after this one checks the state again under the row lock."""

    def run(self, ctx):
        restart, vm = _restart(ctx), vm_of(ctx)
        if restart.state != HaRestartState.PENDING or vm.ha_level != HaLevel.NEVER_STOP \
                or vm.state != VmState.STOPPED or vm.host_id is not None \
                or str(getattr(vm.last_host, "uuid", "")) != str(restart.failed_host_uuid):
            raise HaNotWanted(f"VM {vm.name} is no longer HA's to restart (state {vm.state})",
                              details={"vm_uuid": str(vm.uuid), "state": vm.state})


class ReserveOnAnotherHost(DbStep):
    """A usable host of the failed host's cluster (the allocator: Enabled, Connected, with room),
    never the failed one; the VM's capacity is taken there."""

    def run(self, ctx):
        from ..allocator import PlacementSpec, reserve_host

        vm = vm_of(ctx)
        failed = Host.objects.filter(uuid=_restart(ctx).failed_host_uuid).first()
        spec = PlacementSpec(cpu_num=vm.cpu_num, memory_size=vm.memory_size,
                             cluster_ids=[failed.cluster_id] if failed else [vm.cluster_id],
                             hypervisor_types=(failed.hypervisor_type,) if failed else ("KVM", "Simulator"),
                             avoid_host_uuids=[str(_restart(ctx).failed_host_uuid)])
        host = reserve_host(spec)   # 422 NO_HOST_AVAILABLE: HA tries again later
        ctx.reserved_on = str(host.uuid)
        VmInstance.objects.filter(pk=vm.pk).update(host_id=host.pk, last_host_id=host.pk)
        ctx.host_uuid = str(host.uuid)
        ctx.nics = nics_of(vm.uuid)

    def rollback(self, ctx):
        if ctx.get("reserved_on"):
            vm = vm_of(ctx)
            Host.objects.get(uuid=ctx.reserved_on).release(vm.cpu_num, vm.memory_size)
            VmInstance.objects.filter(pk=vm.pk).update(host=None, last_host=Host.objects.filter(
                uuid=_restart(ctx).failed_host_uuid).first())


class CloseHaRestart(DbStep, NoRollback):
    def run(self, ctx):
        HaRestart.objects.filter(pk=ctx.args["ha_restart_id"]).update(state=HaRestartState.DONE)
        ctx.result = {**(ctx.get("result") or {}), "host_uuid": ctx.host_uuid,
                      "failed_host_uuid": str(_restart(ctx).failed_host_uuid)}


HA_RESTART_VM = Flow("ha-restart-vm", [CheckHaRestart, Begin.of("starting"), ReserveOnAnotherHost, ApplyDhcp,
                                       DefineAndStart, End.of("running"), CloseHaRestart], action="ha-restart-vm")

"""Host maintenance (ZStack's PreMaintenance -> Maintenance): empty a host before work on it.

``POST /hosts/<uuid>/maintain/`` runs MAINTAIN_HOST on the host (202 + job):

1. the host goes PreMaintenance: the allocator places nothing there from now on (it takes
   Enabled hosts only) and a stopped VM cannot start on it;
2. its VMs are sorted: a running VM whose volumes every host of the cluster reaches (shared
   storage) can live-migrate, the others cannot. With ``host/maintenance.policy`` JustMigrate,
   one VM that cannot move refuses the whole maintenance before anything moved;
3. each movable VM live-migrates (the allocator picks the destination), one job per VM;
4. what could not move (or failed to) is stopped, one job per VM (StopVmOnMigrationFailure);
5. the host is checked empty, then goes Maintenance.

A failure rolls back: the VMs it stopped start again on the host and the host goes back to the
state it had. A VM already migrated stays where it went: it runs, and moving it back would be a
second migration with its own risks. ``POST /hosts/<uuid>/cancel-maintenance/`` (or ``enable``)
puts a host in Maintenance back in service; cancelling the job while it runs rolls it back.
"""
from django.db import transaction

from apps.core.errors import CloudPortalError, ResourceBusy
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from apps.infra.models import HOST_STATE_MACHINE, Host, HostState

from ..models import VmInstance, VmState
from .child_jobs import job_error, run_child
from .vm_lifecycle import START_VM, STOP_VM

# VM states that hold the host (allocator.VM_STATES_ON_HOST, without the import cycle)
ON_HOST = (VmState.STARTING, VmState.RUNNING, VmState.STOPPING, VmState.REBOOTING, VmState.PAUSING,
           VmState.PAUSED, VmState.RESUMING, VmState.MIGRATING, VmState.UNKNOWN)
CHILD_TIMEOUT = 900   # seconds one VM's migration or stop may take


class MaintenanceRefused(CloudPortalError):
    status = 409
    code = "HOST_MAINTENANCE_REFUSED"


def _host(ctx):
    return Host.objects.get(uuid=ctx.args["host_uuid"])


def _policy():
    from ..globalconfig import MAINTENANCE_POLICY

    return MAINTENANCE_POLICY.value()


# --- the migration seam (apps/compute/flows/vm_migrate.py) -----------------------------------
def can_live_migrate(vm):
    """Whether ``vm`` can leave its host without downtime: running or paused, with every volume on
    shared storage (a local volume's file is on this host only)."""
    from .vm_migrate import LIVE, mode_of, volumes_of

    try:
        return mode_of(vm, volumes_of(vm)) == LIVE
    except CloudPortalError:
        return False


def live_migrate(vm, *, user=None):
    """Live-migrate ``vm`` to a host the allocator chooses (a migration job of its own on the VM);
    answers the finished job, or raises the refusal the migration's plan gives."""
    from .vm_migrate import LIVE, plan

    flow, args = plan(vm)
    if args["mode"] != LIVE:
        raise CloudPortalError(f"VM {vm.name} cannot live-migrate", code="MIGRATION_NOT_POSSIBLE", status=409,
                               details={"vm_uuid": str(vm.uuid), "mode": args["mode"]})
    return run_child(flow, vm, args, timeout=CHILD_TIMEOUT, user=user)


# --- steps -----------------------------------------------------------------------------------------
class EnterPreMaintenance(DbStep):
    def run(self, ctx):
        with transaction.atomic(savepoint=False):
            host = Host.objects.select_for_update().get(uuid=ctx.args["host_uuid"])
            ctx.state_before = host.state
            host.state = HOST_STATE_MACHINE.next(host.state, "preMaintain")   # 409 naming the state
            host.save(update_fields=["state", "updated_at"])

    def rollback(self, ctx):
        before = ctx.get("state_before")
        if before:
            host = Host.objects.filter(uuid=ctx.args["host_uuid"], state=HostState.PRE_MAINTENANCE).first()
            if host is not None:
                host.state = before
                host.save(update_fields=["state", "updated_at"])


class PlanEvacuation(DbStep, NoRollback):
    """Which VMs migrate and which stop; JustMigrate refuses here, before anything moved."""

    def run(self, ctx):
        host = _host(ctx)
        vms = list(VmInstance.objects.filter(host=host, state__in=ON_HOST).order_by("id"))
        movable = [vm for vm in vms if can_live_migrate(vm)]
        stuck = [vm for vm in vms if vm not in movable]
        if stuck and _policy() == "JustMigrate":
            raise MaintenanceRefused(
                f"host {host.name} cannot enter maintenance: {len(stuck)} VM(s) cannot live-migrate "
                "(host/maintenance.policy is JustMigrate)",
                details={"vm_uuids": [str(vm.uuid) for vm in stuck], "policy": "JustMigrate"})
        ctx.to_migrate = [str(vm.uuid) for vm in movable]
        ctx.to_stop = [str(vm.uuid) for vm in stuck]
        ctx.migrated, ctx.migration_failed = [], []


class MigrateVms(RemoteStep, NoRollback):
    """One migration job per VM. Nothing to undo: a VM moved runs on its new host (see the module)."""

    def run(self, ctx):
        migrated, failed = list(ctx.get("migrated") or []), list(ctx.get("migration_failed") or [])
        todo = [u for u in ctx.to_migrate if u not in migrated and u not in {f["vm_uuid"] for f in failed}]
        for done, vm_uuid in enumerate(todo, 1):
            vm = VmInstance.objects.filter(uuid=vm_uuid).first()
            if vm is None or vm.host_id is None or str(vm.host.uuid) != ctx.args["host_uuid"]:
                continue   # gone, stopped or moved meanwhile
            error = _migrate(vm, ctx)
            if error is None:
                migrated.append(vm_uuid)
            elif _policy() == "JustMigrate":
                ctx.migrated, ctx.migration_failed = migrated, failed + [{"vm_uuid": vm_uuid, **error}]
                raise MaintenanceRefused(f"VM {vm.name} failed to migrate: {error['message']}",
                                         details={"vm_uuid": vm_uuid, "error": error})
            else:
                failed.append({"vm_uuid": vm_uuid, **error})
            ctx.report_progress(int(100 * done / len(todo)), migrated=len(migrated), failed=len(failed))
        ctx.migrated, ctx.migration_failed = migrated, failed


def _migrate(vm, ctx):
    """None when ``vm`` left the host; else what went wrong."""
    try:
        job = live_migrate(vm, user=ctx.job.user)
    except CloudPortalError as exc:
        return {"code": exc.code, "message": exc.message}
    if job.state != "succeeded":
        return job_error(job)
    return None


class StopVms(RemoteStep):
    """What could not move is stopped (a stop job per VM); the rollback starts them again here."""

    def run(self, ctx):
        stopped = list(ctx.get("stopped") or [])
        todo = ctx.to_stop + [f["vm_uuid"] for f in ctx.get("migration_failed") or []]
        for vm_uuid in todo:
            vm = VmInstance.objects.filter(uuid=vm_uuid).first()
            if vm is None or vm_uuid in stopped or vm.host_id is None or str(vm.host.uuid) != ctx.args["host_uuid"]:
                continue
            from ..globalconfig import STOP_TIMEOUT

            job = _child(STOP_VM, vm, {"vm_uuid": vm_uuid, "timeout": STOP_TIMEOUT.value()}, ctx)
            if job.state != "succeeded":
                error = job_error(job)
                raise CloudPortalError(f"VM {vm.name} could not be stopped: {error['message']}",
                                       code="HOST_MAINTENANCE_STOP_FAILED", status=409,
                                       details={"vm_uuid": vm_uuid, "error": error})
            stopped.append(vm_uuid)
        ctx.stopped = stopped

    def rollback(self, ctx):
        """Starts every VM this step was to stop that is Stopped with this host as its last: the
        context may not say which were stopped when the worker died in the middle."""
        failures = []
        todo = (ctx.get("to_stop") or []) + [f["vm_uuid"] for f in ctx.get("migration_failed") or []]
        for vm_uuid in todo:
            vm = VmInstance.objects.filter(uuid=vm_uuid, state=VmState.STOPPED, host__isnull=True,
                                           last_host__uuid=ctx.args["host_uuid"]).first()
            if vm is None:
                continue
            job = _child(START_VM, vm, {"vm_uuid": vm_uuid}, ctx)
            if job.state != "succeeded":
                failures.append({"vm_uuid": vm_uuid, **job_error(job)})
        if failures:
            raise CloudPortalError(f"{len(failures)} VM(s) stopped for maintenance did not start again",
                                   code="HOST_MAINTENANCE_RESTART_FAILED", status=409, details={"vms": failures})


def _child(flow, vm, args, ctx):
    try:
        return run_child(flow, vm, args, timeout=CHILD_TIMEOUT, user=ctx.job.user)
    except ResourceBusy as exc:
        raise ResourceBusy(f"VM {vm.name} is busy with another job: maintenance cannot stop it now",
                           details=exc.details) from None


class CheckHostEmpty(DbStep, NoRollback):
    """Nothing may hold the host any more (a VM started on it meanwhile, a migration that said it
    succeeded but left the VM here)."""

    def run(self, ctx):
        left = list(VmInstance.objects.filter(host__uuid=ctx.args["host_uuid"], state__in=ON_HOST)
                    .values_list("uuid", flat=True))
        if left:
            raise CloudPortalError(f"{len(left)} VM(s) still run on the host", code="HOST_NOT_EMPTY", status=409,
                                   details={"vm_uuids": [str(u) for u in left]})


class EnterMaintenance(DbStep, NoRollback):
    def run(self, ctx):
        with transaction.atomic(savepoint=False):
            host = Host.objects.select_for_update().get(uuid=ctx.args["host_uuid"])
            host.state = HOST_STATE_MACHINE.next(host.state, "maintain")
            host.save(update_fields=["state", "updated_at"])
        ctx.result = {"host_uuid": str(host.uuid), "state": host.state, "migrated": ctx.get("migrated") or [],
                      "stopped": ctx.get("stopped") or [], "migration_failed": ctx.get("migration_failed") or []}


MAINTAIN_HOST = Flow("maintain-host", [EnterPreMaintenance, PlanEvacuation, MigrateVms, StopVms, CheckHostEmpty,
                                       EnterMaintenance], action="maintain-host")

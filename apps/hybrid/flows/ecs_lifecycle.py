"""An ECS instance's life after create: start, stop, reboot, delete, rename, password, charge type,
VNC password.

Each is a flow: ``Begin(event)`` moves the row to its "-ing" state (start -> Starting; a change
that keeps the state checks it is one the cloud accepts) and its rollback puts back the state it
had; the call to the cloud follows, then a wait for the status it leads to; ``End`` writes the
row as the cloud then describes it. The view checks the state table before starting the job (a
wrong state is a 409 at once), and Begin checks it again under a row lock.
"""
import json

from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..models import ECS_STATE_MACHINE, AlibabaEip, EcsState
from ..models.ecs import ECS_ACTIONS
from .common import (cloud_of, delete_remote, describe, fire, instance_id_of, instance_of, locked, remote_values,
                     save_state, secret_arg, wait_for)
from .network_common import mirrored
from .network_eips import EIP


class Begin(DbStep):
    event = None

    def run(self, ctx):
        ctx.state_before = fire(ctx.args["instance_uuid"], self.event)

    def rollback(self, ctx):
        """Back to the state before, while the row is still in the one Begin moved it to."""
        before = ctx.get("state_before")
        if before is None:
            return
        row = locked(ctx.args["instance_uuid"])
        if row.state == ECS_STATE_MACHINE.next(before, self.event) and row.state != before:
            row.state = before
            row.save(update_fields=["state", "updated_at"])

    @classmethod
    def of(cls, event):
        return type(f"Begin{event.title().replace('-', '')}", (cls,), {"event": event})


class End(DbStep, NoRollback):
    """The row as the cloud last described it (``ctx.remote``), in the state ``event`` leads to."""

    event = None

    def run(self, ctx):
        row = instance_of(ctx)
        fields = remote_values(row, ctx.remote) if ctx.get("remote") else {}
        fire(row.uuid, self.event, **fields)
        row.refresh_from_db(fields=["state"])
        ctx.result = {"instance_uuid": str(row.uuid), "instance_id": row.instance_id, "state": row.state}

    @classmethod
    def of(cls, event=None):
        return type(f"End{(event or 'Refreshed').title()}", (cls,), {"event": event})


class Call(RemoteStep, NoRollback):
    """One call to the cloud about the instance (``params(ctx, instance_id)``)."""

    action = None

    def params(self, ctx, instance_id):
        return {"InstanceId": instance_id}

    def run(self, ctx):
        instance_id = instance_id_of(ctx)
        cloud_of(ctx).ecs(self.action, self.params(ctx, instance_id))

    @classmethod
    def of(cls, action, params=None, name=None):
        body = {"action": action}
        if params is not None:
            body["params"] = lambda self, ctx, instance_id: params(ctx, instance_id)
        return type(name or action, (cls,), body)


class WaitStatus(RemoteStep, NoRollback):
    status = None

    def run(self, ctx):
        ctx.remote = wait_for(ctx, cloud_of(ctx), instance_id_of(ctx), (self.status,), self.status)

    @classmethod
    def of(cls, status):
        return type(f"Wait{status}", (cls,), {"status": status})


class Refresh(RemoteStep, NoRollback):
    """How the cloud describes the instance now (after a change that moves no state)."""

    def run(self, ctx):
        ctx.remote = describe(cloud_of(ctx), instance_id_of(ctx))


class DeleteInCloud(RemoteStep, NoRollback):
    """DeleteInstance (forced, as a stopped and a running instance alike are deleted) and wait
    until it is gone; nothing to do for an instance the cloud no longer has."""

    def run(self, ctx):
        row = instance_of(ctx)
        if row.instance_id and ctx.get("state_before") != EcsState.DELETED:
            delete_remote(ctx, cloud_of(ctx), row.instance_id)
            # the cloud lets the instance's EIPs go with it: their rows say so now, not at the next
            # sync (until then they would refuse a release as still in use)
            eips = list(AlibabaEip.objects.filter(ecs_instance=row).exclude(allocation_id=None)
                        .values_list("allocation_id", flat=True))
            ctx.eips = [item for item in (EIP.describe(cloud_of(ctx), row, one) for one in eips) if item]


class DeleteRow(DbStep, NoRollback):
    def run(self, ctx):
        row = instance_of(ctx)
        ctx.result = {"instance_uuid": str(row.uuid), "instance_id": row.instance_id, "deleted": True}
        for item in ctx.get("eips") or []:
            eip = AlibabaEip.objects.filter(data_center_id=row.data_center_id, allocation_id=item["AllocationId"],
                                            busy_job=None).first()   # one a job holds is that job's to write
            if eip is not None:
                save_state(AlibabaEip, eip.uuid, state=item["Status"], **mirrored(row, EIP, item))
        row.delete()
        ctx.resource_released()   # the row and its claim are gone together


def _force(ctx, instance_id):
    return {"InstanceId": instance_id, "ForceStop": bool(ctx.args.get("force"))}


def _charge_type(ctx, instance_id):
    params = {"InstanceIds": json.dumps([instance_id]), "InstanceChargeType": ctx.args["instance_charge_type"],
              "AutoPay": True}
    if ctx.args["instance_charge_type"] == "PrePaid":
        params.update(Period=ctx.args.get("period") or 1, PeriodUnit=ctx.args.get("period_unit") or "Month")
    return params


START_ECS = Flow("start-ecs-instance", [Begin.of("starting"), Call.of("StartInstance"), WaitStatus.of("Running"),
                                        End.of("running")])
STOP_ECS = Flow("stop-ecs-instance", [Begin.of("stopping"), Call.of("StopInstance", _force),
                                      WaitStatus.of("Stopped"), End.of("stopped")])
REBOOT_ECS = Flow("reboot-ecs-instance", [Begin.of("rebooting"), Call.of("RebootInstance", _force),
                                          WaitStatus.of("Running"), End.of("running")])
DELETE_ECS = Flow("delete-ecs-instance", [Begin.of("deleting"), DeleteInCloud, DeleteRow])
RENAME_ECS = Flow("rename-ecs-instance", [
    Begin.of("renaming"),
    Call.of("ModifyInstanceAttribute", lambda ctx, i: {"InstanceId": i, "InstanceName": ctx.args["name"]},
            name="RenameInCloud"),
    Refresh, End.of()])
CHANGE_PASSWORD_ECS = Flow("change-password-ecs-instance", [
    Begin.of("changing-password"),
    Call.of("ModifyInstanceAttribute", lambda ctx, i: {"InstanceId": i, "Password": secret_arg(ctx, "password")},
            name="SetPasswordInCloud")])
CHARGE_TYPE_ECS = Flow("charge-type-ecs-instance", [
    Begin.of("changing-charge-type"), Call.of("ModifyInstanceChargeType", _charge_type), Refresh, End.of()])
VNC_PASSWORD_ECS = Flow("vnc-password-ecs-instance", [
    Begin.of("setting-vnc-password"),
    Call.of("ModifyInstanceVncPasswd", lambda ctx, i: {"InstanceId": i, "VncPassword": secret_arg(ctx, "password")},
            name="SetVncPasswordInCloud")])

# API action -> its flow (the event it fires is ECS_ACTIONS')
FLOWS = {"start": START_ECS, "stop": STOP_ECS, "reboot": REBOOT_ECS, "delete": DELETE_ECS, "rename": RENAME_ECS,
         "change-password": CHANGE_PASSWORD_ECS, "charge-type": CHARGE_TYPE_ECS, "vnc-password": VNC_PASSWORD_ECS}


def plan_action(instance, name, data):
    """The flow of action ``name`` on ``instance`` and its arguments, once the state table allows
    it (409 naming the state otherwise). ``data``: the action's validated body."""
    ECS_STATE_MACHINE.next(instance.state, ECS_ACTIONS[name], action=name)
    return FLOWS[name], {**(data or {}), "instance_uuid": str(instance.uuid)}


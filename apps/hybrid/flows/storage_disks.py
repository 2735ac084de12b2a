"""ECS data disks (H6): create, attach, detach, rename, charge type, delete.

    create: RecordEcsDisk -> CreateDiskInCloud -> WaitDiskMade -> MarkDiskMade
    attach: BeginAttaching -> AttachDisk -> WaitIn_use -> EndInUse        (detach likewise, to Available)
    delete: BeginDeleting -> DeleteDiskInCloud -> DeleteEcsDiskRow

CreateDisk is sent with the job's uuid as ClientToken (sent again, the cloud answers the disk it
made) and the tag ``cloudportal:uuid`` = the row's uuid, by which the rollback (and a sync) finds
the disk made even when the worker died before it recorded the id. A pay-as-you-go disk is made
in a zone (Available); a subscription (PrePaid) one is made for a subscription instance, attached
to it (In_use). When a later step fails the disk is deleted in the cloud (a subscription disk is
first turned pay-as-you-go and detached, as the cloud deletes only a detached one) and the row goes.

Arguments: disk_uuid; create: create_params (CreateDisk's, validated by the API); attach:
instance_id, delete_with_instance; rename: name; charge-type: disk_charge_type.
"""
import json

from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..cloud import AlibabaError, is_not_found
from ..models import DiskState, EcsDisk
from ..remote_kinds import ECS_DISKS, PORTAL_TAG
from ..syncing import Sync
from .storage_common import Begin, DeleteRow, cloud_of, fire, row_of, wait_until

SETTLING = ("Creating", "Attaching", "Detaching", "ReIniting")


def describe_disk(cloud, disk_id):
    """The cloud's description of one disk (a dict), or None when it has none."""
    body = cloud.ecs("DescribeDisks", {"DiskIds": json.dumps([disk_id])})
    return next((d for d in (body.get("Disks") or {}).get("Disk") or [] if d.get("DiskId") == disk_id), None)


def disks_made_for(cloud, row_uuid):
    """The disks a create flow made for the row ``row_uuid`` (found by their tag: its uuid)."""
    body = cloud.ecs("DescribeDisks", {"Tag": [{"Key": PORTAL_TAG, "Value": str(row_uuid)}]})
    return [d for d in (body.get("Disks") or {}).get("Disk") or [] if ECS_DISKS.created_by(d) == str(row_uuid)]


def wait_disk(ctx, cloud, disk_id, statuses, what):
    """Poll until the disk's status is one of ``statuses`` (None among them: until it is gone)."""
    def reached(item):
        if item is None and None not in statuses:
            raise AlibabaError(f"ECS disk {disk_id} disappeared while the portal waited for it to be {what}",
                               code="ALIBABA_DISK_GONE", status=409, details={"disk_id": disk_id})
        return (item.get("Status") if item else None) in statuses

    return wait_until(ctx, lambda: describe_disk(cloud, disk_id), reached, f"disk {disk_id} {what}")


def disk_values(row, item):
    """The columns of ``row`` as the cloud's ``item`` describes it (the sync's reading), without the state."""
    sync = Sync(row.data_center, None)
    ECS_DISKS.prepare(sync)
    values = ECS_DISKS.values(item, sync)
    values.pop("state", None)
    return values


def delete_disk_remote(ctx, cloud, disk_id):
    """Delete the disk in the cloud and wait until it is gone; one already gone is fine. A disk on
    its way somewhere is waited for; an attached one is detached first (a subscription one turned
    pay-as-you-go before: the cloud detaches only those)."""
    item = describe_disk(cloud, disk_id)
    if item is None:
        return
    if item.get("Status") in SETTLING:
        item = wait_disk(ctx, cloud, disk_id, ("Available", "In_use", None), "settled")
        if item is None:
            return
    if item.get("Status") == "In_use":
        instance_id = item.get("InstanceId")
        if item.get("DiskChargeType") == "PrePaid":
            cloud.ecs("ModifyDiskChargeType", {"InstanceId": instance_id, "DiskIds": json.dumps([disk_id]),
                                               "DiskChargeType": "PostPaid", "AutoPay": True})
        cloud.ecs("DetachDisk", {"InstanceId": instance_id, "DiskId": disk_id})
        wait_disk(ctx, cloud, disk_id, ("Available", None), "detached")
    try:
        cloud.ecs("DeleteDisk", {"DiskId": disk_id})
    except AlibabaError as exc:
        if not is_not_found(exc):
            raise
    wait_disk(ctx, cloud, disk_id, (None,), "deleted")


class RecordEcsDisk(DbStep):
    """The row exists already (the API made it, Creating); a failed create deletes it."""

    def run(self, ctx):
        ctx.disk_name = row_of(ctx, EcsDisk).name

    def rollback(self, ctx):
        """The row goes, unless the cloud would not delete the disk made: then it stays, with the
        disk's id, for the next sync to describe (and the operator to delete)."""
        left = ctx.get("left_in_cloud")
        if left:
            fire(EcsDisk, ctx.args["disk_uuid"], None, disk_id=left[0])
            return
        EcsDisk.objects.filter(uuid=ctx.args["disk_uuid"]).delete()


class CreateDiskInCloud(RemoteStep):
    def run(self, ctx):
        # the job's ClientToken is the look before the create: sent again, it answers the disk made
        params = {**ctx.args["create_params"], "ClientToken": str(ctx.job.uuid),
                  "Tag": [{"Key": PORTAL_TAG, "Value": ctx.args["disk_uuid"]}]}
        ctx.disk_id = cloud_of(ctx, EcsDisk).ecs("CreateDisk", params).get("DiskId")

    def record(self, ctx):
        if ctx.get("disk_id"):
            fire(EcsDisk, ctx.args["disk_uuid"], None, disk_id=ctx.disk_id)

    def rollback(self, ctx):
        """Delete what CreateDisk made: the id recorded, else whatever carries the row's tag. What
        the cloud would not delete is named in ``ctx.left_in_cloud`` (RecordEcsDisk keeps the row)."""
        cloud = cloud_of(ctx, EcsDisk)
        ids = [ctx.disk_id] if ctx.get("disk_id") else [
            d["DiskId"] for d in disks_made_for(cloud, ctx.args["disk_uuid"])]
        ctx.left_in_cloud = ids
        for disk_id in ids:
            delete_disk_remote(ctx, cloud, disk_id)
            ctx.left_in_cloud = [one for one in ctx.left_in_cloud if one != disk_id]


def _made_status(ctx):
    """What a new disk becomes: a subscription one is made attached to its instance."""
    return "In_use" if ctx.args["create_params"].get("InstanceId") else "Available"


class WaitDiskMade(RemoteStep, NoRollback):
    def run(self, ctx):
        ctx.remote = wait_disk(ctx, cloud_of(ctx, EcsDisk), ctx.disk_id, (_made_status(ctx),), _made_status(ctx))


class MarkDiskMade(DbStep, NoRollback):
    def run(self, ctx):
        row = row_of(ctx, EcsDisk)
        event = "in-use" if _made_status(ctx) == "In_use" else "available"
        fire(EcsDisk, row.uuid, event, **disk_values(row, ctx.remote))
        row.refresh_from_db(fields=["state"])
        ctx.result = {"disk_uuid": str(row.uuid), "disk_id": ctx.disk_id, "state": row.state}


class Call(RemoteStep, NoRollback):
    """One call to the cloud about the disk (``params(ctx, row)``)."""

    action, params = None, None

    def run(self, ctx):
        row = row_of(ctx, EcsDisk)
        cloud_of(ctx, EcsDisk).ecs(self.action, type(self).params(ctx, row))

    @classmethod
    def of(cls, action, params, name=None):
        return type(name or action, (cls,), {"action": action, "params": staticmethod(params)})


class WaitDisk(RemoteStep, NoRollback):
    status = None

    def run(self, ctx):
        row = row_of(ctx, EcsDisk)
        ctx.remote = wait_disk(ctx, cloud_of(ctx, EcsDisk), row.disk_id, (self.status,), self.status)

    @classmethod
    def of(cls, status):
        return type(f"Wait{status}", (cls,), {"status": status})


class Refresh(RemoteStep, NoRollback):
    """How the cloud describes the disk now (after a change that moves no state)."""

    def run(self, ctx):
        ctx.remote = describe_disk(cloud_of(ctx, EcsDisk), row_of(ctx, EcsDisk).disk_id)


class End(DbStep, NoRollback):
    """The row as the cloud last described it (``ctx.remote``), in the state ``event`` leads to."""

    event = None

    def run(self, ctx):
        row = row_of(ctx, EcsDisk)
        fields = disk_values(row, ctx.remote) if ctx.get("remote") else {}
        fire(EcsDisk, row.uuid, self.event, **fields)
        row.refresh_from_db(fields=["state"])
        ctx.result = {"disk_uuid": str(row.uuid), "disk_id": row.disk_id, "state": row.state}

    @classmethod
    def of(cls, event=None):
        return type(f"End{(event or 'Refreshed').title().replace('-', '')}", (cls,), {"event": event})


class DeleteDiskInCloud(RemoteStep, NoRollback):
    """DeleteDisk and wait until it is gone; nothing to do for a disk the cloud no longer has."""

    def run(self, ctx):
        row = row_of(ctx, EcsDisk)
        if row.disk_id and ctx.get("state_before") != DiskState.DELETED:
            delete_disk_remote(ctx, cloud_of(ctx, EcsDisk), row.disk_id)


def _attach(ctx, row):
    return {"DiskId": row.disk_id, "InstanceId": ctx.args["instance_id"],
            "DeleteWithInstance": bool(ctx.args.get("delete_with_instance"))}


def _detach(ctx, row):
    return {"DiskId": row.disk_id, "InstanceId": row.instance_id}


def _rename(ctx, row):
    return {"DiskId": row.disk_id, "DiskName": ctx.args["name"]}


def _charge_type(ctx, row):
    return {"InstanceId": row.instance_id, "DiskIds": json.dumps([row.disk_id]),
            "DiskChargeType": ctx.args["disk_charge_type"], "AutoPay": True}


CREATE_ECS_DISK = Flow("create-ecs-disk", [RecordEcsDisk, CreateDiskInCloud, WaitDiskMade, MarkDiskMade],
                       action="create-ecs-disk")
ATTACH_ECS_DISK = Flow("attach-ecs-disk", [Begin.of(EcsDisk, "attaching"), Call.of("AttachDisk", _attach),
                                           WaitDisk.of("In_use"), End.of("in-use")])
DETACH_ECS_DISK = Flow("detach-ecs-disk", [Begin.of(EcsDisk, "detaching"), Call.of("DetachDisk", _detach),
                                           WaitDisk.of("Available"), End.of("available")])
RENAME_ECS_DISK = Flow("rename-ecs-disk", [Begin.of(EcsDisk, "renaming"),
                                           Call.of("ModifyDiskAttribute", _rename, name="RenameInCloud"), Refresh,
                                           End.of()])
CHARGE_TYPE_ECS_DISK = Flow("charge-type-ecs-disk", [Begin.of(EcsDisk, "changing-charge-type"),
                                                     Call.of("ModifyDiskChargeType", _charge_type), Refresh, End.of()])
DELETE_ECS_DISK = Flow("delete-ecs-disk", [Begin.of(EcsDisk, "deleting"), DeleteDiskInCloud, DeleteRow.of(EcsDisk)])

# API action -> its flow (the event it fires is DISK_STATE_MACHINE's)
DISK_FLOWS = {"attach": ATTACH_ECS_DISK, "detach": DETACH_ECS_DISK, "rename": RENAME_ECS_DISK,
              "charge-type": CHARGE_TYPE_ECS_DISK, "delete": DELETE_ECS_DISK}

"""Creating an ECS instance, every step undone on failure:

    RecordEcsInstance -> RunEcsInstance -> WaitEcsRunning -> MarkEcsRunning

and with an EIP (``eip_bandwidth``; its own flow, so that the plain create, the batch one, carries
no steps it skips):

    RecordEcsInstance -> RunEcsInstance -> WaitEcsRunning -> AllocateEcsEip -> AssociateEcsEip
    -> MarkEcsRunning

Data disks are made by RunInstances itself and go with the instance.

The API makes the row (state Creating, claimed by this job) so it can answer 202 with it.
RunInstances is sent with the job's uuid as its ClientToken (the cloud makes one instance
however often it is sent) and the row's uuid as the tag ``cloudportal:uuid``, by which the
rollback (and a sync) finds what it made even when the worker died before it recorded the id. When a later step fails, the instance is deleted in the cloud and the row goes: nothing
is left behind (and when the cloud refuses that delete, the row stays to show what is there).

Arguments (``ctx.args``): instance_uuid, and the cloud's RunInstances parameters the API
validated (``run_params``), the password encrypted (``password``), the EIP's Mbit/s
(``eip_bandwidth``, absent: no EIP).
"""
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..models import AlibabaEip, EcsInstance, EcsState, NetworkState
from ..remote_kinds import PORTAL_TAG
from .common import cloud_of, delete_remote, fire, instance_of, made_for, remote_values, secret_arg, wait_for
from .network_common import delete_remote as delete_remote_resource, mirrored, portal_tags, wait_until
from .network_eips import EIP


class RecordEcsInstance(DbStep):
    """The row exists already (the API made it); a failed create deletes it, unless the cloud
    refused to delete the instance made: then the row stays, pointing at it, for the user to see
    (and delete again) at once rather than after the next sync."""

    def run(self, ctx):
        ctx.instance_name = instance_of(ctx).name

    def rollback(self, ctx):
        left = ctx.get("left_in_cloud")
        if left:
            fire(ctx.args["instance_uuid"], None, instance_id=left[0], state=EcsState.PENDING)
            return
        EcsInstance.objects.filter(uuid=ctx.args["instance_uuid"]).delete()


class RunEcsInstance(RemoteStep):
    """RunInstances. The cloud's own look-before-create is its ClientToken: sent again (a retry, a
    job resumed) with the same token it answers the instance it made, and makes no other."""

    def run(self, ctx):
        cloud = cloud_of(ctx)
        params = {**ctx.args["run_params"], "Amount": 1, "ClientToken": str(ctx.job.uuid),
                  "Tag": [{"Key": PORTAL_TAG, "Value": ctx.args["instance_uuid"]}]}
        password = secret_arg(ctx, "password")
        if password:
            params["Password"] = password
        body = cloud.ecs("RunInstances", params)
        ctx.instance_id = ((body.get("InstanceIdSets") or {}).get("InstanceIdSet") or [None])[0]

    def record(self, ctx):
        if ctx.get("instance_id"):
            fire(ctx.args["instance_uuid"], None, instance_id=ctx.instance_id, state=EcsState.PENDING)

    def rollback(self, ctx):
        """Delete what RunInstances made: the id recorded, else whatever carries the row's tag. What
        the cloud would not delete is named in ``ctx.left_in_cloud`` (RecordEcsInstance keeps the row)."""
        cloud = cloud_of(ctx)
        ids = [ctx.instance_id] if ctx.get("instance_id") else [
            item["InstanceId"] for item in made_for(cloud, ctx.args["instance_uuid"])]
        ctx.left_in_cloud = ids
        for instance_id in ids:
            delete_remote(ctx, cloud, instance_id)
            ctx.left_in_cloud = [one for one in ctx.left_in_cloud if one != instance_id]


class WaitEcsRunning(RemoteStep, NoRollback):
    def run(self, ctx):
        ctx.remote = wait_for(ctx, cloud_of(ctx), ctx.instance_id, ("Running",), "Running")


class AllocateEcsEip(RemoteStep):
    """With ``eip_bandwidth``: an EIP for the instance, tagged with the instance row's uuid, by which
    a step tried again finds it instead of allocating another, and the rollback releases it even
    when its id was never recorded."""

    def run(self, ctx):
        if not ctx.args.get("eip_bandwidth"):
            return
        cloud, row = cloud_of(ctx), instance_of(ctx)
        found = EIP.made_for(cloud, row)
        ctx.allocation_id = found[0]["AllocationId"] if found else cloud.vpc("AllocateEipAddress", {
            "Bandwidth": str(ctx.args["eip_bandwidth"]), "InternetChargeType": "PayByTraffic",
            "InstanceChargeType": "PostPaid", "Tag": portal_tags(row), "ClientToken": str(ctx.job.uuid),
            "Name": row.name})["AllocationId"]

    def rollback(self, ctx):
        if not ctx.args.get("eip_bandwidth"):
            return
        cloud, row = cloud_of(ctx), instance_of(ctx)
        ids = [ctx.allocation_id] if ctx.get("allocation_id") else [
            item["AllocationId"] for item in EIP.made_for(cloud, row)]
        for allocation_id in ids:
            _let_go(ctx, cloud, row, allocation_id)   # its association, when that step never recorded it
            delete_remote_resource(ctx, EIP, cloud, row, allocation_id)
        # a sync may have imported it meanwhile
        AlibabaEip.objects.filter(data_center_id=row.data_center_id, allocation_id__in=ids).delete()


def _let_go(ctx, cloud, row, allocation_id):
    """Unassociate the EIP (once the cloud has settled it) when it is in use; wait until it is free."""
    item = EIP.describe(cloud, row, allocation_id)
    if item is None:
        return
    if item["Status"] in EIP.moving:
        item = wait_until(ctx, EIP, cloud, row, allocation_id, ("Available", "InUse"), "settled")
    if item["Status"] == "InUse":
        cloud.vpc("UnassociateEipAddress", {"AllocationId": allocation_id, "InstanceId": item["InstanceId"]})
        wait_until(ctx, EIP, cloud, row, allocation_id, ("Available",), "Available")


class AssociateEcsEip(RemoteStep):
    """The EIP associated with the instance, waited for until InUse."""

    def run(self, ctx):
        if not ctx.get("allocation_id"):
            return
        cloud, row = cloud_of(ctx), instance_of(ctx)
        item = EIP.describe(cloud, row, ctx.allocation_id)
        if item is None or item.get("InstanceId") != ctx.instance_id:   # not already done by a first try
            cloud.vpc("AssociateEipAddress", {"AllocationId": ctx.allocation_id, "InstanceType": "EcsInstance",
                                              "InstanceId": ctx.instance_id})
        ctx.eip = wait_until(ctx, EIP, cloud, row, ctx.allocation_id, ("InUse",), "InUse")

    def rollback(self, ctx):
        if ctx.get("allocation_id"):
            _let_go(ctx, cloud_of(ctx), instance_of(ctx), ctx.allocation_id)


class MarkEcsRunning(DbStep, NoRollback):
    """The row as the cloud describes the instance, Running (with its EIP's row, when it has one)."""

    def run(self, ctx):
        row = instance_of(ctx)
        values = remote_values(row, ctx.remote)
        eip = ctx.get("eip")
        if eip:
            values["eip_address"] = eip["IpAddress"]
        fire(row.uuid, "running", **values)
        ctx.result = {"instance_uuid": str(row.uuid), "instance_id": ctx.instance_id, "state": EcsState.RUNNING}
        if eip:
            AlibabaEip.objects.update_or_create(
                data_center_id=row.data_center_id, allocation_id=eip["AllocationId"],
                defaults={"account_id": row.account_id, "state": NetworkState.IN_USE, **mirrored(row, EIP, eip)})
            ctx.result["allocation_id"] = eip["AllocationId"]


CREATE_ECS_INSTANCE = Flow("create-ecs-instance", [RecordEcsInstance, RunEcsInstance, WaitEcsRunning,
                                                   MarkEcsRunning], action="create-ecs-instance", timeout=3600)
CREATE_ECS_INSTANCE_WITH_EIP = Flow("create-ecs-instance-with-eip", [
    RecordEcsInstance, RunEcsInstance, WaitEcsRunning, AllocateEcsEip, AssociateEcsEip, MarkEcsRunning],
    action="create-ecs-instance", timeout=3600)

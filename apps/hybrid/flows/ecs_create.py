"""Creating an ECS instance, every step undone on failure:

    RecordEcsInstance -> RunEcsInstance -> WaitEcsRunning -> MarkEcsRunning

The API makes the row (state Creating, claimed by this job) so it can answer 202 with it.
RunInstances is sent with the job's uuid as its ClientToken (the cloud makes one instance
however often it is sent) and the row's uuid as the tag ``cloudportal:uuid``, by which the
rollback (and a sync) finds what it made even when the worker died before it recorded the id. When a later step fails, the instance is deleted in the cloud and the row goes: nothing
is left behind (and when the cloud refuses that delete, the row stays to show what is there).

Arguments (``ctx.args``): instance_uuid, and the cloud's RunInstances parameters the API
validated (``run_params``), the password encrypted (``password``).
"""
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..models import EcsInstance, EcsState
from ..remote_kinds import PORTAL_TAG
from .common import cloud_of, delete_remote, fire, instance_of, made_for, remote_values, secret_arg, wait_for


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


class MarkEcsRunning(DbStep, NoRollback):
    """The row as the cloud describes the instance, Running."""

    def run(self, ctx):
        row = instance_of(ctx)
        fire(row.uuid, "running", **remote_values(row, ctx.remote))
        ctx.result = {"instance_uuid": str(row.uuid), "instance_id": ctx.instance_id, "state": EcsState.RUNNING}


CREATE_ECS_INSTANCE = Flow("create-ecs-instance", [RecordEcsInstance, RunEcsInstance, WaitEcsRunning,
                                                   MarkEcsRunning], action="create-ecs-instance", timeout=3600)

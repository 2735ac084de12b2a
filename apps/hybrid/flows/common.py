"""What the ECS flows share: the instance and its cloud, state changes, and waiting for the cloud.

Waiting polls ``DescribeInstances`` for the one instance: soon at first (0.2 s), then less often
(doubling up to ``hybrid/ecs.pollInterval``), until ``hybrid/ecs.waitTimeout``; the job's step
shows the status it last saw.
"""
import json
import time

from django.db import transaction

from apps.core.errors import CloudPortalError
from apps.core.secrets import decrypt

from ..cloud import AlibabaError, Cloud, is_not_found
from ..globalconfig import POLL_INTERVAL, WAIT_TIMEOUT
from ..models import EcsInstance
from ..remote_kinds import ECS_INSTANCES, PORTAL_TAG
from ..syncing import Sync

FIRST_POLL = 0.2
# statuses an instance passes through on its own: DeleteInstance waits for them to end
MOVING = ("Pending", "Starting", "Stopping")


class WaitTimedOut(CloudPortalError):
    status = 504
    code = "ALIBABA_WAIT_TIMEOUT"


def instance_of(ctx):
    return EcsInstance.objects.select_related("data_center__access_key").get(uuid=ctx.args["instance_uuid"])


def cloud_of(ctx):
    """The cloud of the instance's data centre (its key and region), read once per job run."""
    def load():
        row = instance_of(ctx)
        return Cloud.of(row.data_center)
    return ctx.cached(("cloud", ctx.args["instance_uuid"]), load)


def instance_id_of(ctx):
    """The instance's cloud id: what a step of this job recorded, else the row's."""
    return ctx.get("instance_id") or instance_of(ctx).instance_id


def secret_arg(ctx, name):
    """A password the API put in the job's arguments (encrypted there: jobs are kept)."""
    value = ctx.args.get(name)
    return decrypt(value) if value else ""


def locked(uuid):
    return EcsInstance.objects.select_for_update().get(uuid=uuid)


def save_state(model, uuid, event=None, **fields):
    """A hybrid row's state through its model's state table (409 naming it when the table refuses;
    no event: the state stays) and ``fields``, under a row lock, written only where they differ.
    Returns the state it had before."""
    with transaction.atomic(savepoint=False):
        row = model.objects.select_for_update().get(uuid=uuid)
        before = row.state
        if event:
            row.state = model.state_machine.next(row.state, event)
        changed = [key for key, value in fields.items() if getattr(row, key) != value]
        for key in changed:
            setattr(row, key, fields[key])   # ``state`` among them: set as it is (a rollback's)
        changed = [key for key in changed if key != "state"]
        if row.state != before or changed:
            row.save(update_fields=["state", "updated_at", *changed])
    return before


def fire(uuid, event, **fields):
    """``save_state`` of the ECS instance ``uuid``."""
    return save_state(EcsInstance, uuid, event, **fields)


def remote_values(row, item):
    """The columns of ``row`` as the cloud's ``item`` describes it (the sync's reading of it),
    without the state (the flow says which state it reached) and what the portal owns."""
    sync = Sync(row.data_center, None)
    ECS_INSTANCES.prepare(sync)
    values = ECS_INSTANCES.values(item, sync)
    for column in ("state", *ECS_INSTANCES.import_only):
        values.pop(column, None)
    return values


def describe(cloud, instance_id):
    """The cloud's description of one instance (a dict), or None when it has none."""
    body = cloud.ecs("DescribeInstances", {"InstanceIds": json.dumps([instance_id])})
    for item in (body.get("Instances") or {}).get("Instance") or []:
        if item.get("InstanceId") == instance_id:
            return item
    return None


def made_for(cloud, row_uuid):
    """The instances a create flow made for the row ``row_uuid`` (found by their tag: its uuid)."""
    body = cloud.ecs("DescribeInstances", {"Tag": [{"Key": PORTAL_TAG, "Value": str(row_uuid)}]})
    return [item for item in (body.get("Instances") or {}).get("Instance") or []
            if ECS_INSTANCES.created_by(item) == str(row_uuid)]   # the tag checked here too


def wait_for(ctx, cloud, instance_id, statuses, what):
    """Poll until the instance's status is one of ``statuses`` (None among them: until it is gone);
    the item last seen (None when gone). The first look comes after a pause: right after the call
    that moves it, an instance is still where it was (a look then only costs a call)."""
    deadline = time.monotonic() + WAIT_TIMEOUT.value()
    pause, longest, seen = FIRST_POLL, POLL_INTERVAL.value(), None
    time.sleep(pause)
    while True:
        item = describe(cloud, instance_id)
        status = item.get("Status") if item else None
        if status in statuses:
            return item
        if item is None and None not in statuses:
            raise AlibabaError(f"ECS instance {instance_id} disappeared while the portal waited for it to be {what}",
                               code="ALIBABA_INSTANCE_GONE", status=409, details={"instance_id": instance_id})
        if status != seen:
            seen = status
            ctx.report_progress(ctx.job.progress or 0, instance_id=instance_id, status=status or "gone",
                                waiting_for=what)
        if time.monotonic() + pause > deadline:
            raise WaitTimedOut(f"ECS instance {instance_id} was not {what} after {WAIT_TIMEOUT.value()} s "
                               f"(it is {status})", details={"instance_id": instance_id, "status": status,
                                                             "waiting_for": what})
        time.sleep(pause)
        pause = min(pause * 2, longest)


def delete_remote(ctx, cloud, instance_id):
    """Delete the instance in the cloud and wait until it is gone; one already gone is fine. An
    instance on its way somewhere (Pending, Starting, Stopping) is waited for first: the cloud
    refuses to delete it then. A subscription (PrePaid) instance is deleted with its subscription."""
    item = describe(cloud, instance_id)
    if item is None:
        return
    if item.get("Status") in MOVING:
        wait_for(ctx, cloud, instance_id, ("Running", "Stopped", None), "settled")
    params = {"InstanceId": instance_id, "Force": True}
    if item.get("InstanceChargeType") == "PrePaid":
        params["TerminateSubscription"] = True   # asked to delete it: its subscription ends with it
    try:
        cloud.ecs("DeleteInstance", params)
    except AlibabaError as exc:
        if not is_not_found(exc):
            raise
    wait_for(ctx, cloud, instance_id, (None,), "deleted")

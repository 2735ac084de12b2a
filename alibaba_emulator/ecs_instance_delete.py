"""ECS DeleteInstance / DeleteInstances: a running instance needs Force, a subscription one
TerminateSubscription, a protected one is refused; its disks go with it or are detached."""
from . import ecs_instance_model as model
from . import events, idempotency
from .ecs_instance_create import DRY_RUN_PASSED
from .errors import ApiError, incorrect_status
from .registry import action


def _check(call, record, force, terminate_subscription):
    # Stopped always; Running only with Force; never while it is moving (Pending, Starting, Stopping)
    status = record["Status"]
    if status != "Stopped" and not (force and status == "Running"):
        raise incorrect_status("instance", record["InstanceId"], status)
    if record.get("DeletionProtection"):
        raise ApiError(403, "InvalidOperation.DeletionProtection",
                       f"The instance \"{record['InstanceId']}\" has deletion protection enabled.")
    if record["InstanceChargeType"] == "PrePaid" and not terminate_subscription:
        raise ApiError(403, "ChargeTypeViolation",
                       "The operation is not permitted due to charge type of the instance.")


def _delete(call, record):
    region = record["RegionId"]
    del call.emulator.table(call.account, region, model.TABLE)[record["InstanceId"]]
    disks = call.emulator.table(call.account, region, "disks")
    for disk_id, disk in list(disks.items()):
        if disk.get("InstanceId") != record["InstanceId"]:
            continue
        if disk.get("DeleteWithInstance", True):
            del disks[disk_id]
        else:
            disk.update({"InstanceId": "", "Device": "", "Status": "Available", "AttachedTime": "",
                         "Attachments": {"Attachment": []}})
    events.publish("instance_deleted", call, record)


@action("Ecs", "DeleteInstance", regional=False)
def delete_instance(call):
    p = call.params
    record = model.find(call, p.str("InstanceId", required=True))
    _check(call, record, p.bool("Force"), p.bool("TerminateSubscription"))
    if p.bool("DryRun"):
        raise DRY_RUN_PASSED
    _delete(call, record)
    return {}


@action("Ecs", "DeleteInstances")
def delete_instances(call):
    earlier = idempotency.replay(call)
    if earlier is not None:
        return earlier
    p = call.params
    ids = p.list("InstanceId", required=True)
    if len(ids) > 100:
        raise ApiError(400, "InvalidParam.InstanceIdCount", "The number of InstanceId exceeds 100.")
    records = [model.find(call, instance_id) for instance_id in ids]
    for record in records:   # every check before any deletion: all or nothing, as the real service
        _check(call, record, p.bool("Force"), p.bool("TerminateSubscription"))
    if p.bool("DryRun"):
        raise DRY_RUN_PASSED
    for record in records:
        _delete(call, record)
    return idempotency.remember(call, {})

"""ECS Start/Stop/Reboot, one instance (no RegionId: found in any region) or a batch (RegionId,
InstanceId.N, BatchOptimization AllTogether | SuccessFirst)."""
from . import ecs_instance_model as model
from .ecs_instance_create import DRY_RUN_PASSED
from .errors import ApiError
from .registry import action

# operation → (statuses it may start from, what it does)
OPERATIONS = {
    "start": (("Stopped",), model.start),
    "stop": (("Running",), lambda call, record: model.stop(call, record, call.params.str(
        "StoppedMode", default="KeepCharging", choices=("KeepCharging", "StopCharging", "StopChargingOrKeepCharging")))),
    "reboot": (("Running",), model.reboot),
}


def _one(call, operation):
    allowed, apply = OPERATIONS[operation]
    record = model.find(call, call.params.str("InstanceId", required=True))
    model.require_status(record, *allowed)
    if call.params.bool("DryRun"):
        raise DRY_RUN_PASSED
    apply(call, record)
    return {}


def _batch(call, operation):
    allowed, apply = OPERATIONS[operation]
    p = call.params
    ids = p.list("InstanceId", required=True)
    if len(ids) > 100:
        raise ApiError(400, "InvalidParam.InstanceIdCount", "The number of InstanceId exceeds 100.")
    success_first = p.str("BatchOptimization", default="AllTogether", choices=("AllTogether", "SuccessFirst")) == "SuccessFirst"
    checked = []
    for instance_id in ids:
        try:
            record = model.find(call, instance_id)
            model.require_status(record, *allowed)
            checked.append((instance_id, record, None))
        except ApiError as error:
            if not success_first:
                raise   # AllTogether: one refusal refuses the batch, nothing changes
            checked.append((instance_id, None, error))
    if p.bool("DryRun"):
        raise DRY_RUN_PASSED
    answers = []
    for instance_id, record, error in checked:
        if error is not None:
            answers.append({"InstanceId": instance_id, "Code": error.code, "Message": error.message,
                            "PreviousStatus": "", "CurrentStatus": ""})
            continue
        previous = record["Status"]
        apply(call, record)
        answers.append({"InstanceId": instance_id, "Code": "200", "Message": "success",
                        "PreviousStatus": previous, "CurrentStatus": record["Status"]})
    return {"InstanceResponses": {"InstanceResponse": answers}}


@action("Ecs", "StartInstance", regional=False)
def start_instance(call):
    return _one(call, "start")


@action("Ecs", "StopInstance", regional=False)
def stop_instance(call):
    return _one(call, "stop")


@action("Ecs", "RebootInstance", regional=False)
def reboot_instance(call):
    return _one(call, "reboot")


@action("Ecs", "StartInstances")
def start_instances(call):
    return _batch(call, "start")


@action("Ecs", "StopInstances")
def stop_instances(call):
    return _batch(call, "stop")


@action("Ecs", "RebootInstances")
def reboot_instances(call):
    return _batch(call, "reboot")

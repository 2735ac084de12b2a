"""ECS ModifyInstanceAttribute (name, description, password, host name, deletion protection,
security groups), ModifyInstanceChargeType, DescribeInstanceVncUrl, ModifyInstanceVncPasswd."""
import re
import secrets

from . import ecs_instance_model as model
from . import idempotency, registry
from .ecs_instance_create import DRY_RUN_PASSED, check_host_name, check_instance_name, check_password
from .errors import ApiError, not_found
from .registry import action


@action("Ecs", "ModifyInstanceAttribute", regional=False)
def modify_instance_attribute(call):
    p = call.params
    record = model.find(call, p.str("InstanceId", required=True))
    changes = {}
    if "InstanceName" in p:
        check_instance_name(p.str("InstanceName"))
        changes["InstanceName"] = p.str("InstanceName")
    if "Description" in p:
        if len(p.str("Description")) > 256:
            raise ApiError(400, "InvalidDescription.Malformed", "The specified parameter \"Description\" is not valid.")
        changes["Description"] = p.str("Description")
    if "HostName" in p:
        check_host_name(p.str("HostName"))
        changes["HostName"] = p.str("HostName")
    if "DeletionProtection" in p:
        changes["DeletionProtection"] = p.bool("DeletionProtection")
    group_ids = p.list("SecurityGroupIds")
    if group_ids:
        if registry.find("Ecs", "CreateSecurityGroup"):
            for group_id in group_ids:
                if group_id not in call.emulator.table(call.account, record["RegionId"], "security_groups"):
                    raise not_found("InvalidSecurityGroupId.NotFound", "SecurityGroupId", group_id)
        changes["SecurityGroupIds"] = {"SecurityGroupId": group_ids}
    if "Password" in p:
        # the new password takes effect at the next start, as on the real service; it is not kept
        check_password(p.str("Password"))
        changes["_password_set"] = True
    record.update(changes)
    return {}


@action("Ecs", "ModifyInstanceChargeType")
def modify_instance_charge_type(call):
    earlier = idempotency.replay(call)
    if earlier is not None:
        return earlier
    p = call.params
    ids = p.json_list("InstanceIds", required=True)
    if not ids or len(ids) > 20:
        raise ApiError(400, "InvalidInstanceIds.ValueNotSupported", "The specified parameter InstanceIds is not valid.")
    charge_type = p.str("InstanceChargeType", default="PrePaid", choices=("PrePaid", "PostPaid"))
    unit = p.str("PeriodUnit", default="Month", choices=("Month", "Week"))
    period = p.int("Period", default=1, minimum=1, maximum=60)
    records = [model.find(call, instance_id) for instance_id in ids]
    for record in records:
        model.require_status(record, "Running", "Stopped")
        if record["InstanceChargeType"] == charge_type:
            raise ApiError(400, "InvalidInstanceChargeType.NoChange",
                           f"The instance \"{record['InstanceId']}\" is already {charge_type}.")
    if p.bool("DryRun"):
        raise DRY_RUN_PASSED
    months = period if unit == "Month" else max(1, round(period * 7 / 30))
    expires = model.api_time(call.now() + months * 30 * 86400) if charge_type == "PrePaid" else model.NEVER_EXPIRES
    disks = call.table("disks")
    for record in records:
        record.update({"InstanceChargeType": charge_type, "ExpiredTime": expires})
        for disk in disks.values():
            if disk.get("InstanceId") == record["InstanceId"] and (disk["Type"] == "system" or p.bool("IncludeDataDisks")):
                disk["DiskChargeType"] = charge_type
    fees = [{"InstanceId": r["InstanceId"], "Fee": "0.00", "Currency": "CNY"} for r in records]
    return idempotency.remember(call, {"OrderId": str(200000000000000 + secrets.randbelow(10 ** 14)),
                                       "FeeOfInstances": {"FeeOfInstance": fees}})


@action("Ecs", "DescribeInstanceVncUrl")
def describe_instance_vnc_url(call):
    record = model.find(call, call.params.str("InstanceId", required=True))
    model.require_status(record, "Running")
    token = secrets.token_hex(16)
    return {"VncUrl": f"wss://g-vncproxy.aliyun.com/webtty?token={token}&instanceId={record['InstanceId']}"}


@action("Ecs", "ModifyInstanceVncPasswd")
def modify_instance_vnc_passwd(call):
    record = model.find(call, call.params.str("InstanceId", required=True))
    password = call.params.str("VncPassword", required=True)
    if not re.fullmatch(r"[A-Za-z0-9]{6}", password):
        raise ApiError(400, "InvalidVncPassword.Malformed",
                       "The VNC password must be six characters of letters and digits.")
    record["_vnc_password_set"] = True   # takes effect at the next start; not kept
    return {}

"""ECS RunInstances (batch, started) and CreateInstance (one, left Stopped): the checks the real
service makes (image, type, network, security groups, quota, stock, password) before anything exists."""
import re
import secrets

from . import ecs_instance_model as model
from . import events, idempotency, registry
from .ecs_images import find_image
from .errors import ApiError, invalid_parameter, missing_parameter, not_found, quota_exceeded
from .instance_types import DATA_DISK_CATEGORIES, INSTANCE_TYPES, SYSTEM_DISK_CATEGORIES
from .registry import action
from .regions import check_zone, zones

DRY_RUN_PASSED = ApiError(400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
PASSWORD_SPECIALS = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/"


def check_password(password):
    """8–30 characters of at least three kinds (lower, upper, digit, special), as ECS requires."""
    kinds = [any(c.islower() for c in password), any(c.isupper() for c in password),
             any(c.isdigit() for c in password), any(c in PASSWORD_SPECIALS for c in password)]
    allowed = all(c.isalnum() or c in PASSWORD_SPECIALS for c in password)
    if not (8 <= len(password) <= 30 and sum(kinds) >= 3 and allowed):
        raise ApiError(400, "InvalidPassword.Malformed", "The specified parameter \"Password\" is not valid.")


def check_instance_name(name):
    if not re.fullmatch(r"[A-Za-z\u4e00-\u9fa5][\w\u4e00-\u9fa5.:,\-]{1,127}", name):
        raise ApiError(400, "InvalidInstanceName.Malformed", "The specified parameter \"InstanceName\" is not valid.")


def check_host_name(name):
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,62}", name) or ".." in name or name.endswith((".", "-")):
        raise ApiError(400, "InvalidHostName.Malformed", "The specified parameter \"HostName\" is not valid.")


def _network(call):
    """(zone, vpc id, vswitch id, vswitch CIDR) from VSwitchId (or ZoneId alone). The vSwitch is
    checked against the vswitches table once a module emulates vSwitches; before that any id goes."""
    p = call.params
    vswitch_id, zone_id = p.str("VSwitchId"), p.str("ZoneId")
    if not vswitch_id and not zone_id:
        raise missing_parameter("VSwitchId")
    if zone_id:
        check_zone(call.region, zone_id)
    if not vswitch_id:
        return zone_id, "", "", None
    vswitch = call.table("vswitches").get(vswitch_id)
    if vswitch is None:
        if registry.find("Vpc", "CreateVSwitch"):
            raise not_found("InvalidVSwitchId.NotFound", "VSwitchId", vswitch_id)
        return zone_id or zones(call.region)[0], "", vswitch_id, None
    if zone_id and zone_id != vswitch["ZoneId"]:
        raise ApiError(400, "InvalidParameter.Mismatch", "The specified ZoneId and VSwitchId do not match.")
    return vswitch["ZoneId"], vswitch["VpcId"], vswitch_id, vswitch.get("CidrBlock")


def _security_groups(call, vpc_id):
    p = call.params
    ids = p.list("SecurityGroupIds") or ([p.str("SecurityGroupId")] if "SecurityGroupId" in p else [])
    if not registry.find("Ecs", "CreateSecurityGroup"):
        return ids
    if not ids:
        raise missing_parameter("SecurityGroupId")
    groups = call.table("security_groups")
    for group_id in ids:
        group = groups.get(group_id)
        if group is None:
            raise not_found("InvalidSecurityGroupId.NotFound", "SecurityGroupId", group_id)
        if vpc_id and group.get("VpcId") and group["VpcId"] != vpc_id:
            raise ApiError(400, "InvalidSecurityGroup.VpcMismatch",
                           "The specified security group and the specified virtual switch are not in the same VPC.")
    return ids


def _image(call, image_id):
    """The image's record (system catalogue or the account's custom images; unknown or not
    Available: InvalidImageId.NotFound)."""
    image = find_image(call, image_id)
    if image is None or image.get("Status", "Available") != "Available":
        raise not_found("InvalidImageId.NotFound", "ImageId", image_id)
    return image


def _disks(call):
    system = call.params.object("SystemDisk")
    category = system.get("Category") or "cloud_efficiency"
    if category not in SYSTEM_DISK_CATEGORIES:
        raise invalid_parameter("SystemDisk.Category", category, "InvalidSystemDiskCategory.ValueNotSupported")
    try:
        size = int(system.get("Size") or 40)
    except ValueError:
        raise invalid_parameter("SystemDisk.Size", system.get("Size")) from None
    if not 20 <= size <= 2048:
        raise invalid_parameter("SystemDisk.Size", size, "InvalidSystemDiskSize.ValueNotSupported")
    data = []
    for index, disk in enumerate(call.params.objects("DataDisk"), start=1):
        data_category = disk.get("Category") or "cloud_efficiency"
        if data_category not in DATA_DISK_CATEGORIES:
            raise invalid_parameter(f"DataDisk.{index}.Category", data_category, "InvalidDataDiskCategory.ValueNotSupported")
        try:
            data_size = int(disk.get("Size") or 20)
        except ValueError:
            raise invalid_parameter(f"DataDisk.{index}.Size", disk.get("Size")) from None
        if not 20 <= data_size <= 32768:
            raise invalid_parameter(f"DataDisk.{index}.Size", data_size, "InvalidDataDiskSize.ValueNotSupported")
        data.append({"Category": data_category, "Size": data_size, "DiskName": disk.get("DiskName", ""),
                     "DeleteWithInstance": disk.get("DeleteWithInstance", "true").lower() == "true"})
    if len(data) > 16:
        raise invalid_parameter("DataDisk", len(data), "InvalidDataDiskSize.ValueNotSupported")
    return {"Category": category, "Size": size, "DiskName": system.get("DiskName", "")}, data


def _add_disks(call, record, system, data):
    """The instance's disks in the disks table (DescribeDisks' shape): the system disk and data disks."""
    disks = call.table("disks")
    for index, (kind, spec) in enumerate([("system", system)] + [("data", d) for d in data]):
        disk_id = call.emulator.new_id("d")
        disks[disk_id] = {
            "DiskId": disk_id, "DiskName": spec.get("DiskName", ""), "Description": "", "Type": kind,
            "Category": spec["Category"], "Size": spec["Size"], "RegionId": record["RegionId"],
            "ZoneId": record["ZoneId"], "Status": "In_use", "InstanceId": record["InstanceId"],
            "Device": f"/dev/xvd{chr(ord('a') + index)}", "DeleteWithInstance": spec.get("DeleteWithInstance", True),
            "Portable": kind == "data", "ImageId": record["ImageId"] if kind == "system" else "",
            "DiskChargeType": "PrePaid" if record["InstanceChargeType"] == "PrePaid" else "PostPaid",
            "CreationTime": record["CreationTime"], "AttachedTime": record["CreationTime"],
            "Encrypted": False, "Tags": {"Tag": []},
            "Attachments": {"Attachment": [{"InstanceId": record["InstanceId"], "Device": f"/dev/xvd{chr(ord('a') + index)}",
                                            "AttachedTime": record["CreationTime"]}]},
        }


def _period_months(call, charge_type):
    if charge_type != "PrePaid":
        return None
    unit = call.params.str("PeriodUnit", default="Month", choices=("Month", "Week"))
    period = call.params.int("Period", default=1, minimum=1, maximum=60)
    return period if unit == "Month" else max(1, round(period * 7 / 30))


def _check_capacity(call, zone_id, instance_type, wanted):
    """How many instances may be created now: raises the real codes when none (or fewer than
    MinAmount) can be."""
    if not call.emulator.in_stock(call.region, zone_id, instance_type):
        raise ApiError(403, "OperationDenied.NoStock",
                       "The resource is out of stock in the specified zone. Please try other types, "
                       "or choose other regions and zones.")
    room = call.quota("max_instances") - len(call.table(model.TABLE))
    minimum = call.params.int("MinAmount", default=wanted, minimum=1, maximum=wanted)
    if room < minimum:
        raise quota_exceeded("QuotaExceed.ElasticQuota",
                             f"The number of instances in {call.region} would exceed your quota "
                             f"({call.quota('max_instances')}).")
    return min(wanted, room)


def _build(call, amount):
    """Validate the request and create `amount` instance records (Pending); returns them."""
    p = call.params
    image_id = p.str("ImageId", required=True)
    instance_type = p.str("InstanceType", required=True)
    if instance_type not in INSTANCE_TYPES:
        raise ApiError(400, "InvalidInstanceType.ValueNotSupported",
                       f"The specified InstanceType \"{instance_type}\" does not exist or beyond the permitted range.")
    zone_id, vpc_id, vswitch_id, cidr = _network(call)
    security_group_ids = _security_groups(call, vpc_id)
    image = _image(call, image_id)
    system_disk, data_disks = _disks(call)
    charge_type = p.str("InstanceChargeType", default="PostPaid", choices=("PostPaid", "PrePaid"))
    period_months = _period_months(call, charge_type)
    internet_charge_type = p.str("InternetChargeType", default="PayByTraffic", choices=("PayByTraffic", "PayByBandwidth"))
    bandwidth_out = p.int("InternetMaxBandwidthOut", default=0, minimum=0, maximum=100)
    bandwidth_in = p.int("InternetMaxBandwidthIn", default=200, minimum=1, maximum=200)
    if "Password" in p:
        check_password(p.str("Password"))
    base_name = p.str("InstanceName")
    if base_name:
        check_instance_name(base_name)
    base_host = p.str("HostName")
    if base_host:
        check_host_name(base_host)
    host_names = p.list("HostNames")
    private_ip = p.str("PrivateIpAddress")
    if private_ip and amount > 1:
        raise invalid_parameter("PrivateIpAddress", private_ip, "InvalidParam.PrivateIpAddressWithAmount")
    created = _check_capacity(call, zone_id, instance_type, amount)
    if p.bool("DryRun"):
        raise DRY_RUN_PASSED
    unique_suffix = p.bool("UniqueSuffix") and created > 1
    addresses = model.PrivateIps(call, vswitch_id, cidr)
    records = []
    for index in range(created):
        instance_id = "i-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(20))
        suffix = f"{index + 1:03d}" if unique_suffix else ""
        name = (base_name + suffix) if base_name else instance_id
        host_name = host_names[index] if index < len(host_names) else (
            (base_host + suffix) if base_host else f"iZ{instance_id[2:]}Z")
        ip = addresses.take(private_ip if index == 0 else None)
        if ip is None:
            raise ApiError(403, "InvalidVSwitchId.IpNotEnough", "The specified VSwitch has not enough IP addresses.")
        record = model.new_record(
            call, instance_id=instance_id, name=name, host_name=host_name, description=p.str("Description", ""),
            image_id=image_id, instance_type=instance_type, zone_id=zone_id, vpc_id=vpc_id, vswitch_id=vswitch_id,
            private_ip=ip, security_group_ids=security_group_ids, charge_type=charge_type,
            internet_charge_type=internet_charge_type, bandwidth_out=bandwidth_out, bandwidth_in=bandwidth_in,
            tags=p.tags(), key_pair_name=p.str("KeyPairName"), deletion_protection=p.bool("DeletionProtection"),
            resource_group_id=p.str("ResourceGroupId"), image=image, period_months=period_months)
        if "Password" in p:
            record["_password_set"] = True
        records.append(record)
    # only now that every check has passed: a refused call leaves nothing behind
    for record in records:
        call.table(model.TABLE)[record["InstanceId"]] = record
        _add_disks(call, record, system_disk, data_disks)
        events.publish("instance_created", call, record)
    return records


def _order_id():
    return str(200000000000000 + secrets.randbelow(10 ** 14))


@action("Ecs", "RunInstances")
def run_instances(call):
    earlier = idempotency.replay(call)
    if earlier is not None:
        return earlier
    amount = call.params.int("Amount", default=1, minimum=1, maximum=100)
    records = _build(call, amount)
    for record in records:
        model.schedule(call, record, [{"Status": "Starting"},
                                      {"Status": "Running",
                                       "StartTime": model.api_time(call.now() + 2 * call.emulator.transition_seconds)}])
    return idempotency.remember(call, {"InstanceIdSets": {"InstanceIdSet": [r["InstanceId"] for r in records]},
                                       "OrderId": _order_id(), "TradePrice": 0.0})


@action("Ecs", "CreateInstance")
def create_instance(call):
    earlier = idempotency.replay(call)
    if earlier is not None:
        return earlier
    (record,) = _build(call, 1)
    model.schedule(call, record, [{"Status": "Stopped"}])
    return idempotency.remember(call, {"InstanceId": record["InstanceId"], "OrderId": _order_id(), "TradePrice": 0.0})

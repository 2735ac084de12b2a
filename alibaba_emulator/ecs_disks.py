"""ECS cloud disks: CreateDisk (a pay-as-you-go data disk in a zone: Creating → Available),
DescribeDisks (filters, both paging styles; instances' system and data disks are here too, put by
RunInstances), AttachDisk (Available → Attaching → In_use) and DetachDisk (In_use → Detaching →
Available) for an instance that is Running or Stopped, DeleteDisk (only Available),
ModifyDiskAttribute, ModifyDiskChargeType. AttachDisk, DetachDisk and DeleteDisk carry no RegionId:
the disk is found in whichever region of the account holds it."""
import random

from . import ecs_disk_model as disk_model
from . import resource_names, resource_tags
from .client_tokens import idempotent
from .errors import ApiError, invalid_parameter, missing_parameter, not_found, quota_exceeded
from .paging import by_next_token, by_page_number, wants_next_token
from .regions import check_zone
from .registry import action
from .resource_groups import resource_group
from .timestamps import creation_order, iso_minutes


def _instance(call, region, instance_id):
    instance = call.emulator.table(call.account, region, "instances").get(instance_id)
    if instance is None:
        raise not_found("InvalidInstanceId.NotFound", "InstanceId", instance_id)
    return instance


def _incorrect_disk_status(disk, action_name):
    return ApiError(403, "IncorrectDiskStatus",
                    f"The current status of the disk \"{disk['DiskId']}\" ({disk['Status']}) does not support "
                    f"{action_name}.")


def _incorrect_instance_status(instance):
    return ApiError(403, "IncorrectInstanceStatus",
                    f"The current status of the instance \"{instance['InstanceId']}\" ({instance.get('Status')}) "
                    "does not support this operation.")


@action("Ecs", "CreateDisk")
@idempotent
def create_disk(call):
    p = call.params
    category = p.str("DiskCategory", default="cloud")
    if category not in disk_model.SIZES and category != "cloud_essd":
        raise invalid_parameter("DiskCategory", category, code="InvalidDataDiskCategory.ValueNotSupported")
    level = ""
    if category == "cloud_essd":
        level = p.str("PerformanceLevel", default="PL1", choices=tuple(disk_model.ESSD_SIZES))
    size = disk_model.size_of(category, level, p.int("Size"))
    name = resource_names.name(p.str("DiskName"), "DiskName", "InvalidDiskName.Malformed", minimum=2)
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed", minimum=2)
    instance_id = p.str("InstanceId")
    zone_id = p.str("ZoneId")
    instance = None
    if instance_id:
        if zone_id:
            raise ApiError(400, "InvalidParameter.Conflict", "ZoneId and InstanceId cannot be given together.")
        instance = _instance(call, call.region, instance_id)
        if instance.get("InstanceChargeType") != "PrePaid":
            raise ApiError(403, "InvalidInstanceChargeType.NotSupported",
                           "A disk created with InstanceId is a subscription disk of a subscription instance.")
        if instance.get("Status") not in disk_model.ATTACHABLE_INSTANCE_STATUSES:
            raise _incorrect_instance_status(instance)
        zone_id = instance["ZoneId"]
    elif not zone_id:
        raise missing_parameter("ZoneId")
    check_zone(call.region, zone_id)
    tags = resource_tags.requested(p)
    disks = call.table("disks")
    if len(disks) >= call.quota("max_disks"):
        raise quota_exceeded("QuotaExceed.Disk", "The maximum number of disks in this region is reached.")
    resource_names.dry_run(call)

    now = call.now()
    disk_id = call.emulator.new_id("d")
    disks[disk_id] = {
        "DiskId": disk_id, "DiskName": name or "", "Description": description or "", "RegionId": call.region,
        "ZoneId": zone_id, "Category": category, "PerformanceLevel": level, "Size": size, "Type": "data",
        "Status": "Creating", "InstanceId": "", "Device": "", "DiskChargeType": "PostPaid", "Portable": True,
        "DeleteWithInstance": False, "DeleteAutoSnapshot": True, "EnableAutoSnapshot": False,
        "Encrypted": p.bool("Encrypted"), "KMSKeyId": p.str("KMSKeyId", default=""),
        "SourceSnapshotId": p.str("SnapshotId", default=""), "ImageId": "", "CreationTime": iso_minutes(now),
        "AttachedTime": "", "DetachedTime": "", "ResourceGroupId": resource_group(call),
        "MultiAttach": p.str("MultiAttach", default="Disabled"), "BurstingEnabled": p.bool("BurstingEnabled"),
        "Tags": {"Tag": tags}, "Attachments": {"Attachment": []}, "_created": now,
    }
    answer = {"DiskId": disk_id}
    if instance is not None:
        # a subscription disk for a subscription instance: made attached, not portable
        device = disk_model.free_device(call, call.region, instance)
        disks[disk_id].update({"DiskChargeType": "PrePaid", "Portable": False, "DeleteWithInstance": True,
                               "InstanceId": instance_id, "Device": device})
        call.schedule("disks", disk_id, [{"Status": "Attaching"}, disk_model.attached_step(instance_id, device, now)])
        answer["OrderId"] = str(random.SystemRandom().randrange(10 ** 14, 10 ** 15))
    else:
        call.schedule("disks", disk_id, [{"Status": "Available"}])
    return answer


@action("Ecs", "DescribeDisks")
def describe_disks(call):
    p = call.params
    wanted_ids = set(p.json_list("DiskIds"))
    status = p.str("Status")
    if status and status != "All" and status not in disk_model.DISK_STATUSES:
        raise invalid_parameter("Status", status)
    disk_type = p.str("DiskType", default="all", choices=("all", "system", "data"))
    category = p.str("Category", default="all")
    exact = {"InstanceId": p.str("InstanceId"), "ZoneId": p.str("ZoneId"), "DiskChargeType": p.str("DiskChargeType"),
             "DiskName": p.str("DiskName"), "ResourceGroupId": p.str("ResourceGroupId"),
             "SourceSnapshotId": p.str("SnapshotId")}
    flags = [name for name in ("Portable", "DeleteWithInstance", "Encrypted", "EnableAutoSnapshot") if name in p]
    rows = []
    for disk in creation_order(call.table("disks").values(), "DiskId"):
        if wanted_ids and disk["DiskId"] not in wanted_ids:
            continue
        if status and status != "All" and disk["Status"] != status:
            continue
        if disk_type != "all" and disk_model.field(disk, "Type") != disk_type:
            continue
        if category != "all" and disk["Category"] != category:
            continue
        if any(value is not None and disk_model.field(disk, field) != value for field, value in exact.items()):
            continue
        if any(disk_model.field(disk, name) != p.bool(name) for name in flags):
            continue
        if not resource_tags.matches(disk_model.field(disk, "Tags")["Tag"], p):
            continue
        rows.append(disk)
    if wants_next_token(p):
        page, info = by_next_token(rows, p, default_size=10, max_size=500)
    else:
        page, info = by_page_number(rows, p, default_size=10, max_size=100)
    return {"Disks": {"Disk": [disk_model.answer(disk) for disk in page]}, **info}


@action("Ecs", "AttachDisk", regional=False)
def attach_disk(call):
    p = call.params
    region, disk = disk_model.find_disk(call, p.str("DiskId", required=True))
    instance = _instance(call, region, p.str("InstanceId", required=True))
    if disk["Status"] != "Available":
        raise _incorrect_disk_status(disk, "AttachDisk")
    if instance.get("Status") not in disk_model.ATTACHABLE_INSTANCE_STATUSES:
        raise _incorrect_instance_status(instance)
    if disk["ZoneId"] != instance["ZoneId"]:
        raise ApiError(403, "InvalidDiskId.ZoneMismatch",
                       f"The disk \"{disk['DiskId']}\" is in {disk['ZoneId']} and the instance in "
                       f"{instance['ZoneId']}: a disk is attached to an instance of its own zone.")
    disks = call.emulator.table(call.account, region, "disks")
    attached = [d for d in disks.values() if d.get("InstanceId") == instance["InstanceId"] and d.get("Type") == "data"]
    if len(attached) >= disk_model.MAX_DATA_DISKS:
        raise ApiError(403, "InstanceDiskLimitExceeded",
                       "The amount of the disk on instance in question reach its limits.")
    resource_names.dry_run(call)
    device = disk_model.free_device(call, region, instance)
    disk.update({"Status": "Attaching", "InstanceId": instance["InstanceId"], "Device": device,
                 "DeleteWithInstance": p.bool("DeleteWithInstance", default=disk.get("DeleteWithInstance", False))})
    call.emulator.schedule(call.account, region, "disks", disk["DiskId"],
                           [disk_model.attached_step(instance["InstanceId"], device, call.now())])
    return {}


@action("Ecs", "DetachDisk", regional=False)
def detach_disk(call):
    p = call.params
    region, disk = disk_model.find_disk(call, p.str("DiskId", required=True))
    instance = _instance(call, region, p.str("InstanceId", required=True))
    if disk["Status"] != "In_use" or disk.get("InstanceId") != instance["InstanceId"]:
        raise _incorrect_disk_status(disk, "DetachDisk from this instance")
    if not disk.get("Portable", True):
        raise ApiError(403, "DiskNotPortable", f"The specified disk \"{disk['DiskId']}\" is not a portable disk.")
    wanted = ("Stopped",) if disk.get("Type") == "system" else disk_model.ATTACHABLE_INSTANCE_STATUSES
    if instance.get("Status") not in wanted:
        raise _incorrect_instance_status(instance)
    if "DeleteWithInstance" in p:
        disk["DeleteWithInstance"] = p.bool("DeleteWithInstance")
    resource_names.dry_run(call)
    disk["Status"] = "Detaching"
    call.emulator.schedule(call.account, region, "disks", disk["DiskId"], [{
        "Status": "Available", "InstanceId": "", "Device": "", "AttachedTime": "",
        "DetachedTime": iso_minutes(call.now()), "Attachments": {"Attachment": []}}])
    return {}


@action("Ecs", "DeleteDisk", regional=False)
def delete_disk(call):
    region, disk = disk_model.find_disk(call, call.params.str("DiskId", required=True))
    if disk["Status"] != "Available":
        raise _incorrect_disk_status(disk, "DeleteDisk")
    resource_names.dry_run(call)
    call.emulator.cancel_transitions(disk)
    del call.emulator.table(call.account, region, "disks")[disk["DiskId"]]
    return {}


@action("Ecs", "ModifyDiskAttribute")
def modify_disk_attribute(call):
    p = call.params
    disk_ids = p.list("DiskIds") or ([p.str("DiskId")] if "DiskId" in p else [])
    if not disk_ids:
        raise missing_parameter("DiskId")
    name = resource_names.name(p.str("DiskName"), "DiskName", "InvalidDiskName.Malformed", minimum=2)
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed", minimum=2)
    disks = call.table("disks")
    for disk_id in disk_ids:
        if disk_id not in disks:
            raise not_found("InvalidDiskId.NotFound", "DiskId", disk_id)
    resource_names.dry_run(call)
    for disk_id in disk_ids:
        disk = disks[disk_id]
        if name is not None:
            disk["DiskName"] = name
        if description is not None:
            disk["Description"] = description
        for flag in ("DeleteWithInstance", "DeleteAutoSnapshot", "EnableAutoSnapshot", "BurstingEnabled"):
            if flag in p:
                disk[flag] = p.bool(flag)
    return {}


@action("Ecs", "ModifyDiskChargeType")
def modify_disk_charge_type(call):
    p = call.params
    instance = _instance(call, call.region, p.str("InstanceId", required=True))
    disk_ids = p.json_list("DiskIds", required=True)
    charge_type = p.str("DiskChargeType", default="PrePaid", choices=("PrePaid", "PostPaid"))
    if instance.get("InstanceChargeType") != "PrePaid":
        raise ApiError(403, "InvalidInstanceChargeType.NotSupported",
                       "The billing method of disks can be changed only on a subscription (PrePaid) instance.")
    disks = call.table("disks")
    for disk_id in disk_ids:
        disk = disks.get(disk_id)
        if disk is None:
            raise not_found("InvalidDiskId.NotFound", "DiskId", disk_id)
        if disk.get("InstanceId") != instance["InstanceId"] or disk.get("Status") != "In_use":
            raise _incorrect_disk_status(disk, "ModifyDiskChargeType on this instance")
        if disk.get("Type") == "system":
            raise ApiError(403, "InvalidDiskCategory.NotSupported",
                           f"The disk \"{disk_id}\" is a system disk; it is billed with its instance.")
    resource_names.dry_run(call)
    for disk_id in disk_ids:
        # a subscription disk goes with its instance's subscription and cannot be detached
        disks[disk_id].update({"DiskChargeType": charge_type, "Portable": charge_type == "PostPaid",
                               "ExpiredTime": instance.get("ExpiredTime", "") if charge_type == "PrePaid"
                               else "2999-09-08T16:00Z"})
    answer = {}
    if charge_type == "PrePaid":
        answer["OrderId"] = str(random.SystemRandom().randrange(10 ** 14, 10 ** 15))
    return answer

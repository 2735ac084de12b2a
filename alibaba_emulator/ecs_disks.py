"""ECS cloud disks: CreateDisk (a pay-as-you-go data disk in a zone: Creating → Available),
DescribeDisks (filters, both paging styles; instances' system and data disks are here too, put by
RunInstances), AttachDisk (Available → Attaching → In_use) and DetachDisk (In_use → Detaching →
Available) for an instance that is Running or Stopped, DeleteDisk (only Available),
ModifyDiskAttribute, ModifyDiskChargeType. AttachDisk, DetachDisk and DeleteDisk carry no RegionId:
the disk is found in whichever region of the account holds it."""
import math
import random

from . import resource_names, resource_tags
from .errors import ApiError, invalid_parameter, missing_parameter, not_found, quota_exceeded
from .paging import by_next_token, by_page_number, wants_next_token
from .regions import check_zone
from .registry import action
from .resource_groups import resource_group
from .state import public
from .timestamps import creation_order, iso_minutes

# category → (smallest, largest) size in GiB for a data disk; ESSD's depends on its performance level
SIZES = {"cloud": (5, 2000), "cloud_efficiency": (20, 32768), "cloud_ssd": (20, 32768), "cloud_auto": (1, 65536),
         "cloud_essd_entry": (10, 32768)}
ESSD_SIZES = {"PL0": (1, 65536), "PL1": (20, 65536), "PL2": (461, 65536), "PL3": (1261, 65536)}
MAX_DATA_DISKS = 16
ATTACHABLE_INSTANCE_STATUSES = ("Running", "Stopped")
DISK_STATUSES = ("In_use", "Available", "Attaching", "Detaching", "Creating", "ReIniting")


def _performance(category, size, level):
    """(IOPS, throughput MB/s) of a disk as the service documents them for its category and size."""
    if category == "cloud":
        return 300, 30
    if category == "cloud_efficiency":
        return min(5000, 1800 + 8 * size), min(140, 100 + math.floor(0.15 * size))
    if category == "cloud_ssd":
        return min(25000, 1800 + 30 * size), min(300, 120 + math.floor(0.5 * size))
    if category == "cloud_essd_entry":
        return min(6000, 1800 + 8 * size), min(150, 100 + math.floor(0.15 * size))
    if category == "cloud_auto":
        return max(min(1800 + 50 * size, 50000), 3000), min(350, 120 + math.floor(0.5 * size))
    ceiling = {"PL0": (10000, 180), "PL1": (50000, 350), "PL2": (100000, 750), "PL3": (1000000, 4000)}[level or "PL1"]
    per_gib = 12 if level == "PL0" else 50
    return min(ceiling[0], 1800 + per_gib * size), min(ceiling[1], 120 + math.floor(0.5 * size))


def _answer(disk):
    """A disk as DescribeDisks answers it; disks made by RunInstances carry fewer fields, so the
    rest is filled in from the category and size."""
    iops, throughput = _performance(disk["Category"], disk["Size"], disk.get("PerformanceLevel"))
    attached = disk.get("InstanceId") and disk.get("Status") in ("In_use", "Attaching", "Detaching")
    attachments = disk.get("Attachments") or {"Attachment": []}
    defaults = {
        "Description": "", "DiskName": "", "Type": "data", "Portable": True, "DeleteWithInstance": False,
        "DeleteAutoSnapshot": True, "EnableAutoSnapshot": False, "EnableAutomatedSnapshotPolicy": False,
        "AutoSnapshotPolicyId": "", "Encrypted": False, "KMSKeyId": "", "ImageId": "", "SourceSnapshotId": "",
        "DiskChargeType": "PostPaid", "ExpiredTime": "2999-09-08T16:00Z", "AttachedTime": "", "DetachedTime": "",
        "ResourceGroupId": "", "SerialNumber": disk["DiskId"][2:] if disk["DiskId"].startswith("d-") else "",
        "BdfId": "", "ProductCode": "", "MultiAttach": "Disabled", "StorageSetId": "", "StorageSetPartitionNumber": 0,
        "StorageClusterId": "", "BurstingEnabled": False, "ProvisionedIops": 0,
        "PerformanceLevel": "PL1" if disk["Category"] == "cloud_essd" else "",
        "OperationLocks": {"OperationLock": []}, "Tags": {"Tag": []}, "Placement": {},
        "IOPS": iops, "IOPSRead": iops // 2, "IOPSWrite": iops // 2, "Throughput": throughput,
        "ThroughputRead": throughput // 2, "ThroughputWrite": throughput // 2, "Device": "", "InstanceId": "",
    }
    answer = {**defaults, **public(disk), "Attachments": attachments}
    answer["MountInstanceNum"] = 1 if attached else 0
    answer["MountInstances"] = {"MountInstance": attachments["Attachment"] if attached else []}
    return answer


def find_disk(call, disk_id):
    """(region, disk) of the account's disk in any region; InvalidDiskId.NotFound when none."""
    for account, region, rows in call.emulator.regional_tables("disks"):
        if account == call.account and disk_id in rows:
            return region, rows[disk_id]
    raise not_found("InvalidDiskId.NotFound", "DiskId", disk_id)


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


def _size(category, level, value):
    low, high = ESSD_SIZES[level] if category == "cloud_essd" else SIZES[category]
    if value is None:
        raise missing_parameter("Size")
    if not low <= value <= high:
        raise ApiError(400, "InvalidDataDiskSize.ValueNotSupported",
                       f"The size of a {category} disk{' ' + level if category == 'cloud_essd' else ''} is "
                       f"{low} to {high} GiB, not {value}.")
    return value


@action("Ecs", "CreateDisk")
def create_disk(call):
    p = call.params
    category = p.str("DiskCategory", default="cloud")
    if category not in SIZES and category != "cloud_essd":
        raise invalid_parameter("DiskCategory", category, code="InvalidDataDiskCategory.ValueNotSupported")
    level = p.str("PerformanceLevel", default="PL1", choices=tuple(ESSD_SIZES)) if category == "cloud_essd" else ""
    size = _size(category, level, p.int("Size"))
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
        if instance.get("Status") not in ATTACHABLE_INSTANCE_STATUSES:
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
        device = _free_device(call, call.region, instance)
        disks[disk_id].update({"DiskChargeType": "PrePaid", "Portable": False, "DeleteWithInstance": True,
                               "InstanceId": instance_id, "Device": device})
        call.schedule("disks", disk_id, [{"Status": "Attaching"}, _attached(instance_id, device, now)])
        answer["OrderId"] = str(random.SystemRandom().randrange(10 ** 14, 10 ** 15))
    else:
        call.schedule("disks", disk_id, [{"Status": "Available"}])
    return answer


def _attached(instance_id, device, now):
    return {"Status": "In_use", "AttachedTime": iso_minutes(now),
            "Attachments": {"Attachment": [{"InstanceId": instance_id, "Device": device,
                                            "AttachedTime": iso_minutes(now)}]}}


def _free_device(call, region, instance):
    taken = {d.get("Device") for d in call.emulator.table(call.account, region, "disks").values()
             if d.get("InstanceId") == instance["InstanceId"]}
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"/dev/xvd{letter}" not in taken:
            return f"/dev/xvd{letter}"
    raise ApiError(403, "InstanceDiskLimitExceeded", "The amount of the disk on instance in question reach its limits.")


@action("Ecs", "DescribeDisks")
def describe_disks(call):
    p = call.params
    wanted_ids = set(p.json_list("DiskIds"))
    status = p.str("Status")
    if status and status != "All" and status not in DISK_STATUSES:
        raise invalid_parameter("Status", status)
    disk_type = p.str("DiskType", default="all", choices=("all", "system", "data"))
    category = p.str("Category", default="all")
    exact = {"InstanceId": p.str("InstanceId"), "ZoneId": p.str("ZoneId"), "DiskChargeType": p.str("DiskChargeType"),
             "DiskName": p.str("DiskName"), "ResourceGroupId": p.str("ResourceGroupId"),
             "SourceSnapshotId": p.str("SnapshotId")}
    flags = [name for name in ("Portable", "DeleteWithInstance", "Encrypted", "EnableAutoSnapshot") if name in p]
    rows = []
    for disk in creation_order(call.table("disks").values(), "DiskId"):
        answer = _answer(disk)
        if wanted_ids and disk["DiskId"] not in wanted_ids:
            continue
        if status and status != "All" and answer["Status"] != status:
            continue
        if disk_type != "all" and answer["Type"] != disk_type:
            continue
        if category != "all" and answer["Category"] != category:
            continue
        if any(value is not None and answer.get(field) != value for field, value in exact.items()):
            continue
        if any(answer[name] != p.bool(name) for name in flags):
            continue
        if not resource_tags.matches(answer["Tags"]["Tag"], p):
            continue
        rows.append(answer)
    if wants_next_token(p):
        page, info = by_next_token(rows, p, default_size=10, max_size=500)
    else:
        page, info = by_page_number(rows, p, default_size=10, max_size=100)
    return {"Disks": {"Disk": page}, **info}


@action("Ecs", "AttachDisk", regional=False)
def attach_disk(call):
    p = call.params
    region, disk = find_disk(call, p.str("DiskId", required=True))
    instance = _instance(call, region, p.str("InstanceId", required=True))
    if disk["Status"] != "Available":
        raise _incorrect_disk_status(disk, "AttachDisk")
    if instance.get("Status") not in ATTACHABLE_INSTANCE_STATUSES:
        raise _incorrect_instance_status(instance)
    if disk["ZoneId"] != instance["ZoneId"]:
        raise ApiError(403, "InvalidDiskId.ZoneMismatch",
                       f"The disk \"{disk['DiskId']}\" is in {disk['ZoneId']} and the instance in "
                       f"{instance['ZoneId']}: a disk is attached to an instance of its own zone.")
    disks = call.emulator.table(call.account, region, "disks")
    attached = [d for d in disks.values() if d.get("InstanceId") == instance["InstanceId"] and d.get("Type") == "data"]
    if len(attached) >= MAX_DATA_DISKS:
        raise ApiError(403, "InstanceDiskLimitExceeded",
                       "The amount of the disk on instance in question reach its limits.")
    resource_names.dry_run(call)
    device = _free_device(call, region, instance)
    disk.update({"Status": "Attaching", "InstanceId": instance["InstanceId"], "Device": device,
                 "DeleteWithInstance": p.bool("DeleteWithInstance", default=disk.get("DeleteWithInstance", False))})
    call.emulator.schedule(call.account, region, "disks", disk["DiskId"],
                           [_attached(instance["InstanceId"], device, call.now())])
    return {}


@action("Ecs", "DetachDisk", regional=False)
def detach_disk(call):
    p = call.params
    region, disk = find_disk(call, p.str("DiskId", required=True))
    instance = _instance(call, region, p.str("InstanceId", required=True))
    if disk["Status"] != "In_use" or disk.get("InstanceId") != instance["InstanceId"]:
        raise _incorrect_disk_status(disk, "DetachDisk from this instance")
    if not disk.get("Portable", True):
        raise ApiError(403, "DiskNotPortable", f"The specified disk \"{disk['DiskId']}\" is not a portable disk.")
    wanted = ("Stopped",) if disk.get("Type") == "system" else ATTACHABLE_INSTANCE_STATUSES
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
    region, disk = find_disk(call, call.params.str("DiskId", required=True))
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

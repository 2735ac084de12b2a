"""What a cloud disk is in the emulator: the sizes each category allows, the performance the service
documents for a category and size, how a disk record is answered (records made by RunInstances carry
fewer fields), where a disk is found and which device it gets on an instance. The actions are in
ecs_disks.py."""
import math

from .errors import ApiError, missing_parameter, not_found
from .state import public
from .timestamps import iso_minutes

# category → (smallest, largest) size in GiB for a data disk; ESSD's depends on its performance level
SIZES = {"cloud": (5, 2000), "cloud_efficiency": (20, 32768), "cloud_ssd": (20, 32768), "cloud_auto": (1, 65536),
         "cloud_essd_entry": (10, 32768)}
ESSD_SIZES = {"PL0": (1, 65536), "PL1": (20, 65536), "PL2": (461, 65536), "PL3": (1261, 65536)}
MAX_DATA_DISKS = 16
ATTACHABLE_INSTANCE_STATUSES = ("Running", "Stopped")
DISK_STATUSES = ("In_use", "Available", "Attaching", "Detaching", "Creating", "ReIniting")


def performance(category, size, level):
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


# what a disk record leaves out (disks made by RunInstances carry fewer fields) reads as these
DEFAULTS = {
    "Description": "", "DiskName": "", "Type": "data", "Portable": True, "DeleteWithInstance": False,
    "DeleteAutoSnapshot": True, "EnableAutoSnapshot": False, "EnableAutomatedSnapshotPolicy": False,
    "AutoSnapshotPolicyId": "", "Encrypted": False, "KMSKeyId": "", "ImageId": "", "SourceSnapshotId": "",
    "DiskChargeType": "PostPaid", "ExpiredTime": "2999-09-08T16:00Z", "AttachedTime": "", "DetachedTime": "",
    "ResourceGroupId": "", "BdfId": "", "ProductCode": "", "MultiAttach": "Disabled", "StorageSetId": "",
    "StorageSetPartitionNumber": 0, "StorageClusterId": "", "BurstingEnabled": False, "ProvisionedIops": 0,
    "OperationLocks": {"OperationLock": []}, "Tags": {"Tag": []}, "Placement": {}, "Device": "", "InstanceId": "",
}


def field(disk, name):
    return disk.get(name, DEFAULTS.get(name))


def answer(disk):
    """A disk as DescribeDisks answers it: the record, the defaults of what it leaves out, and the
    performance of its category and size."""
    iops, throughput = performance(disk["Category"], disk["Size"], disk.get("PerformanceLevel"))
    attached = disk.get("InstanceId") and disk.get("Status") in ("In_use", "Attaching", "Detaching")
    attachments = disk.get("Attachments") or {"Attachment": []}
    computed = {
        "SerialNumber": disk["DiskId"][2:] if disk["DiskId"].startswith("d-") else "",
        "PerformanceLevel": "PL1" if disk["Category"] == "cloud_essd" else "",
        "IOPS": iops, "IOPSRead": iops // 2, "IOPSWrite": iops // 2, "Throughput": throughput,
        "ThroughputRead": throughput // 2, "ThroughputWrite": throughput // 2,
    }
    answer = {**DEFAULTS, **computed, **public(disk), "Attachments": attachments}
    answer["MountInstanceNum"] = 1 if attached else 0
    answer["MountInstances"] = {"MountInstance": attachments["Attachment"] if attached else []}
    return answer


def find_disk(call, disk_id):
    """(region, disk) of the account's disk in any region; InvalidDiskId.NotFound when none."""
    for account, region, rows in call.emulator.regional_tables("disks"):
        if account == call.account and disk_id in rows:
            return region, rows[disk_id]
    raise not_found("InvalidDiskId.NotFound", "DiskId", disk_id)


def size_of(category, level, value):
    low, high = ESSD_SIZES[level] if category == "cloud_essd" else SIZES[category]
    if value is None:
        raise missing_parameter("Size")
    if not low <= value <= high:
        raise ApiError(400, "InvalidDataDiskSize.ValueNotSupported",
                       f"The size of a {category} disk{' ' + level if category == 'cloud_essd' else ''} is "
                       f"{low} to {high} GiB, not {value}.")
    return value


def attached_step(instance_id, device, now):
    return {"Status": "In_use", "AttachedTime": iso_minutes(now),
            "Attachments": {"Attachment": [{"InstanceId": instance_id, "Device": device,
                                            "AttachedTime": iso_minutes(now)}]}}


def free_device(call, region, instance):
    taken = {d.get("Device") for d in call.emulator.table(call.account, region, "disks").values()
             if d.get("InstanceId") == instance["InstanceId"]}
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"/dev/xvd{letter}" not in taken:
            return f"/dev/xvd{letter}"
    raise ApiError(403, "InstanceDiskLimitExceeded", "The amount of the disk on instance in question reach its limits.")

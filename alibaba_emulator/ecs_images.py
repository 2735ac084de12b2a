"""ECS images: DescribeImages (the system catalogue and the account's custom images), ImportImage
(from an object in the account's OSS, Waiting → Creating with Progress "NN%" → Available),
CreateImage (from an instance), DeleteImage (refused while an instance uses it unless Force),
ModifyImageAttribute. Custom images are the `images` table of the account and region."""
import copy
import math

from . import oss, resource_names, resource_tags
from .ecs_system_images import SYSTEM_IMAGES
from .client_tokens import idempotent
from .errors import ApiError, invalid_parameter, missing_parameter, not_found, quota_exceeded
from .paging import by_page_number
from .registry import action
from .resource_groups import resource_group
from .state import public
from .timestamps import iso_seconds

GIB = 1024 ** 3
IMPORT_FORMATS = ("RAW", "VHD", "QCOW2", "VMDK")
# the steps of an image being made, one per transition period: (Status, Progress)
IMPORT_STEPS = [("Creating", "10%"), ("Creating", "35%"), ("Creating", "60%"), ("Creating", "85%"),
                ("Available", "100%")]
CREATE_STEPS = [("Creating", "40%"), ("Creating", "80%"), ("Available", "100%")]
IMAGE_USERS_STATUSES = ("Pending", "Starting", "Running", "Stopping", "Stopped")


def find_image(call, image_id, region=None):
    """A system image or a custom image of the call's account in its region (or `region`), else None.
    emu-core's RunInstances may use this to check ImageId."""
    if image_id in SYSTEM_IMAGES:
        return SYSTEM_IMAGES[image_id]
    return call.table("images", region=region).get(image_id)


def _custom_image(call, image_id):
    if image_id in SYSTEM_IMAGES:
        raise ApiError(403, "OperationDenied",
                       f"The image \"{image_id}\" is a system image; only custom images can be changed or deleted.")
    image = call.table("images").get(image_id)
    if image is None:
        raise not_found("InvalidImageId.NotFound", "ImageId", image_id)
    return image


def _users(call, image_id):
    return [i for i in call.table("instances").values() if i.get("ImageId") == image_id]


def _answer(image, used_ids):
    answer = public(image)
    if image["ImageOwnerAlias"] == "self":
        answer["Usage"] = "instance" if image["ImageId"] in used_ids else "none"
        mappings = answer["DiskDeviceMappings"]["DiskDeviceMapping"]
        answer["DiskDeviceMappings"] = {"DiskDeviceMapping": [{**m, "Progress": image["Progress"]} for m in mappings]}
    else:
        answer["Usage"] = "none"
    return answer


def _check_unique_name(call, name, image_id=None):
    if name and any(i["ImageName"] == name and i["ImageId"] != image_id for i in call.table("images").values()):
        raise ApiError(400, "InvalidImageName.Duplicated", f"The specified ImageName \"{name}\" is already in use.")


def _new_custom_image(call, name, description, os_fields, size, mapping, status, progress):
    images = call.table("images")
    if len(images) >= call.quota("max_images"):
        raise quota_exceeded("QuotaExceed.Image", "The maximum number of custom images in this region is reached.")
    now = call.now()
    image_id = call.emulator.new_id("m")
    images[image_id] = {
        "ImageId": image_id, "ImageName": name or "", "ImageVersion": "", "ImageFamily": "",
        "Description": description or "", **os_fields, "Size": size, "ImageOwnerAlias": "self", "IsPublic": False,
        "IsSelfShared": "", "IsSubscribed": False, "IsCopied": False, "IsSupportCloudinit": True,
        "IsSupportIoOptimized": True, "LoginAsNonRootSupported": False, "Usable": status == "Available",
        "ProductCode": "", "SupplierName": "", "Status": status, "Progress": progress,
        "CreationTime": iso_seconds(now), "ResourceGroupId": resource_group(call),
        "SecureBootOptions": {"SecureBootSupport": "unsupported"},
        "DetectionOptions": {"Status": "", "Items": {"Item": []}},
        "DiskDeviceMappings": {"DiskDeviceMapping": [{
            "Device": "/dev/xvda", "Type": "system", "Size": str(size), "Format": "", "SnapshotId": "",
            "ImportOSSBucket": "", "ImportOSSObject": "", "Progress": progress, "RemainTime": 0,
            "Encrypted": False, **mapping}]},
        "Tags": {"Tag": resource_tags.requested(call.params)}, "_created": now,
    }
    return images[image_id]


def _schedule_progress(call, image, steps):
    plan = [{"Status": status, "Progress": progress} for status, progress in steps]
    plan[-1].update({"Usable": True})
    # the finished image is backed by a snapshot, as the real service's are
    snapshot_id = call.emulator.new_id("s")
    plan[-1]["DiskDeviceMappings"] = {"DiskDeviceMapping": [
        {**m, "SnapshotId": snapshot_id} for m in image["DiskDeviceMappings"]["DiskDeviceMapping"]]}
    call.schedule("images", image["ImageId"], plan)


@action("Ecs", "DescribeImages")
def describe_images(call):
    p = call.params
    owners = {o.strip() for o in (p.str("ImageOwnerAlias") or "system,self,others").split(",")}
    statuses = {s.strip() for s in (p.str("Status") or "Available").split(",")}
    wanted_ids = {i.strip() for i in (p.str("ImageId") or "").split(",") if i.strip()}
    exact = {"OSType": p.str("OSType"), "Architecture": p.str("Architecture"), "ImageFamily": p.str("ImageFamily"),
             "ResourceGroupId": p.str("ResourceGroupId")}
    name = p.str("ImageName")
    snapshot = p.str("SnapshotId")
    filters = {f.get("Key"): f.get("Value") for f in p.objects("Filter")}
    custom = sorted(call.table("images").values(), key=lambda i: (-i.get("_created", 0), i["ImageId"]))
    candidates = (custom if "self" in owners else []) + (list(SYSTEM_IMAGES.values()) if "system" in owners else [])
    used_ids = {i.get("ImageId") for i in call.table("instances").values()}
    rows = []
    for image in candidates:
        answer = _answer(image, used_ids)
        if wanted_ids and image["ImageId"] not in wanted_ids:
            continue
        if "All" not in statuses and image["Status"] not in statuses:
            continue
        if any(value is not None and image.get(field) != value for field, value in exact.items()):
            continue
        if name and name not in image["ImageName"]:
            continue
        if "IsPublic" in p and image["IsPublic"] != p.bool("IsPublic"):
            continue
        if p.str("Usage") and answer["Usage"] != p.str("Usage"):
            continue
        if snapshot and all(m["SnapshotId"] != snapshot for m in image["DiskDeviceMappings"]["DiskDeviceMapping"]):
            continue
        if filters.get("CreationStartTime") and image["CreationTime"] < filters["CreationStartTime"]:
            continue
        if filters.get("CreationEndTime") and image["CreationTime"] > filters["CreationEndTime"]:
            continue
        if not resource_tags.matches(image["Tags"]["Tag"], p):
            continue
        rows.append(answer)
    page, info = by_page_number(rows, p, default_size=10, max_size=100)
    return {"RegionId": call.region, "Images": {"Image": page}, **info}


def _oss_object(call, bucket, key):
    """What the emulator's OSS knows of an object, or an error saying why it cannot be read."""
    info = oss.object_info(call.emulator, call.account, bucket, key)
    if info is None:
        raise ApiError(404, "InvalidOSSObject.NotFound",
                       f"The specified OSS object \"{key}\" does not exist in the bucket \"{bucket}\".")
    if info.get("region") and info["region"] != call.region:
        raise ApiError(400, "InvalidOSSBucket.RegionMismatch",
                       f"The bucket \"{bucket}\" is in {info['region']}; import from a bucket of {call.region}.")
    return info


@action("Ecs", "ImportImage")
@idempotent
def import_image(call):
    p = call.params
    mappings = p.objects("DiskDeviceMapping")
    if not mappings:
        raise missing_parameter("DiskDeviceMapping.1.OSSBucket")
    mapping = mappings[0]
    bucket, key = mapping.get("OSSBucket"), mapping.get("OSSObject")
    if not bucket:
        raise missing_parameter("DiskDeviceMapping.1.OSSBucket")
    if not key:
        raise missing_parameter("DiskDeviceMapping.1.OSSObject")
    image_format = (mapping.get("Format") or key.rsplit(".", 1)[-1]).upper()
    if image_format not in IMPORT_FORMATS:
        raise invalid_parameter("DiskDeviceMapping.1.Format", mapping.get("Format"), code="InvalidFormat.ValueNotSupported")
    os_type = p.str("OSType", default="linux", choices=("linux", "windows"))
    architecture = p.str("Architecture", default="x86_64", choices=("x86_64", "i386", "arm64"))
    boot_mode = p.str("BootMode", default="BIOS", choices=("BIOS", "UEFI", "UEFI-Preferred"))
    platform = p.str("Platform", default="Others Linux" if os_type == "linux" else "Windows Server 2022")
    name = resource_names.name(p.str("ImageName"), "ImageName", "InvalidImageName.Malformed", minimum=2)
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    _check_unique_name(call, name)
    size_text = mapping.get("DiskImageSize") or mapping.get("DiskImSize")
    info = _oss_object(call, bucket, key)
    size = max(5, math.ceil(info["size"] / GIB))
    if size_text:
        if not size_text.isdigit() or not 1 <= int(size_text) <= 2048:
            raise invalid_parameter("DiskDeviceMapping.1.DiskImageSize", size_text)
        size = max(int(size_text), size)
    resource_names.dry_run(call)

    os_fields = {"OSType": os_type, "Platform": platform, "Architecture": architecture, "BootMode": boot_mode,
                 "OSName": platform, "OSNameEn": platform, "LicenseType": p.str("LicenseType", default="Auto"),
                 "Features": {"NvmeSupport": (p.object("Features").get("NvmeSupport") or "unsupported"),
                              "ImdsSupport": (p.object("Features").get("ImdsSupport") or "v1")}}
    image = _new_custom_image(call, name, description, os_fields, size,
                              {"Format": image_format, "ImportOSSBucket": bucket, "ImportOSSObject": key},
                              status="Waiting", progress="0%")
    _schedule_progress(call, image, IMPORT_STEPS)
    return {"ImageId": image["ImageId"], "RegionId": call.region, "TaskId": call.emulator.new_id("t")}


@action("Ecs", "CreateImage")
@idempotent
def create_image(call):
    p = call.params
    instance_id = p.str("InstanceId")
    if not instance_id:
        if p.str("SnapshotId"):
            raise not_found("InvalidSnapshotId.NotFound", "SnapshotId", p.str("SnapshotId"))
        raise missing_parameter("InstanceId")
    instance = call.table("instances").get(instance_id)
    if instance is None:
        raise not_found("InvalidInstanceId.NotFound", "InstanceId", instance_id)
    if instance.get("Status") not in ("Running", "Stopped"):
        raise ApiError(403, "IncorrectInstanceStatus",
                       f"The current status of the instance \"{instance_id}\" ({instance.get('Status')}) "
                       "does not support this operation.")
    name = resource_names.name(p.str("ImageName"), "ImageName", "InvalidImageName.Malformed", minimum=2)
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    _check_unique_name(call, name)
    resource_names.dry_run(call)

    source = find_image(call, instance.get("ImageId")) or {}
    # copied: the new image must not share the Features dict of a system image of the catalogue
    os_fields = {field: copy.deepcopy(source.get(field, default)) for field, default in (
        ("OSType", "linux"), ("Platform", "Others Linux"), ("Architecture", "x86_64"), ("BootMode", "BIOS"),
        ("OSName", "Others Linux"), ("OSNameEn", "Others Linux"), ("LicenseType", ""),
        ("Features", {"NvmeSupport": "unsupported", "ImdsSupport": "v1"}))}
    image = _new_custom_image(call, name, description, os_fields, _system_disk_size(call, instance, source), {},
                              status="Creating", progress="0%")
    image["ImageFamily"] = p.str("ImageFamily", default="")
    image["ImageVersion"] = p.str("ImageVersion", default="")
    _schedule_progress(call, image, CREATE_STEPS)
    return {"ImageId": image["ImageId"]}


def _system_disk_size(call, instance, source):
    for disk in call.table("disks").values():
        if disk.get("InstanceId") == instance["InstanceId"] and disk.get("Type") == "system":
            return disk["Size"]
    return int((instance.get("SystemDisk") or {}).get("Size") or source.get("Size") or 40)


@action("Ecs", "DeleteImage")
def delete_image(call):
    p = call.params
    image_id = p.str("ImageId", required=True)
    if image_id not in SYSTEM_IMAGES and image_id not in call.table("images"):
        return {}   # the service ignores a custom image that does not exist
    image = _custom_image(call, image_id)
    users = [i for i in _users(call, image_id) if i.get("Status") in IMAGE_USERS_STATUSES]
    if users and not p.bool("Force"):
        raise ApiError(403, "ImageUsingByInstance",
                       f"The specified image has been used to create instances (e.g. \"{users[0]['InstanceId']}\"). "
                       "You can use the DescribeInstances API to query these instances, or you can use the force "
                       "parameter to proceed.")
    resource_names.dry_run(call)
    call.emulator.cancel_transitions(image)
    del call.table("images")[image_id]
    return {}


@action("Ecs", "ModifyImageAttribute")
def modify_image_attribute(call):
    p = call.params
    image = _custom_image(call, p.str("ImageId", required=True))
    name = resource_names.name(p.str("ImageName"), "ImageName", "InvalidImageName.Malformed", minimum=2)
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    _check_unique_name(call, name, image["ImageId"])
    status = p.str("Status", choices=("Available", "Deprecated"))
    if status and image["Status"] not in ("Available", "Deprecated"):
        raise ApiError(403, "IncorrectImageStatus",
                       f"The current status of the image \"{image['ImageId']}\" ({image['Status']}) "
                       "does not support this operation.")
    resource_names.dry_run(call)
    if name is not None:
        image["ImageName"] = name
    if description is not None:
        image["Description"] = description
    if status:
        image["Status"] = status
    for field in ("ImageFamily", "BootMode", "LicenseType"):
        if field in p:
            image[field] = p.str(field)
    image["Features"].update({k: v for k, v in p.object("Features").items() if v})
    return {}

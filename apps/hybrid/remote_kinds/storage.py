"""OSS buckets, ECS images and data disks (H5, H6, H10)."""
from datetime import datetime, timezone

from ..models import AlibabaIdentityZone, EcsDisk, EcsImage, EcsInstance, OssBucket
from ..models.storage import BucketState, GIB
from ..storage_cloud import region_of_location
from ..storage_config import IMAGE_SYNC_OWNERS
from .base import RemoteKind, cloud_time
from .ecs import zone_pk


# every status a custom image may have (DescribeImages answers only Available ones unless asked)
IMAGE_STATUSES = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"


def _bucket_dict(info):
    """ListBuckets' item (oss2's SimplifiedBucketInfo) in the cloud's names, as the other kinds' are."""
    return {"Name": info.name, "Location": info.location, "Region": info.region or region_of_location(info.location),
            "CreationDate": info.creation_date, "StorageClass": info.storage_class,
            "ExtranetEndpoint": info.extranet_endpoint, "IntranetEndpoint": info.intranet_endpoint}


def _unix_time(item, sync):
    value = item.get("CreationDate")
    return datetime.fromtimestamp(int(value), tz=timezone.utc) if value else None


class OssBuckets(RemoteKind):
    """The account's buckets in the data centre's region (ListBuckets answers every region's)."""

    model = OssBucket
    remote_key, local_key = "Name", "bucket_name"
    fields = {
        "name": "Name", "state": lambda item, sync: BucketState.AVAILABLE, "location": "Location",
        "storage_class": "StorageClass", "extranet_endpoint": "ExtranetEndpoint",
        "intranet_endpoint": "IntranetEndpoint", "remote_created_at": _unix_time,
    }
    deleted_state = BucketState.DELETED

    def list_remote(self, cloud, data_center):
        service = cloud.oss_service()
        marker, found = "", []
        while True:
            page = cloud.oss("ListBuckets", lambda: service.list_buckets(marker=marker, max_keys=1000))
            found += [_bucket_dict(info) for info in page.buckets]
            if not page.is_truncated or not page.next_marker:
                break
            marker = page.next_marker
        return [item for item in found if item["Region"] == data_center.region_id]


def _percent(item, sync):
    text = str(item.get("Progress") or "").rstrip("%")
    return int(text) if text.isdigit() else 0


class EcsImages(RemoteKind):
    """The images of the owners ``hybrid/images.syncOwners`` names (system and the account's own by
    default: a region's marketplace has thousands)."""

    model = EcsImage
    remote_key, local_key = "ImageId", "image_id"
    fields = {
        "name": lambda item, sync: item.get("ImageName") or item["ImageId"],
        "description": "Description", "state": "Status", "owner_alias": "ImageOwnerAlias", "os_type": "OSType",
        "os_name": lambda item, sync: item.get("OSNameEn") or item.get("OSName") or "",
        "platform": "Platform", "architecture": "Architecture", "image_family": "ImageFamily",
        "size": lambda item, sync: int(item.get("Size") or 0) * GIB, "progress": _percent,
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    deleted_state = "Deleted"
    import_only = ("description",)   # PATCH changes it here (the cloud's description is not the portal's)

    def list_remote(self, cloud, data_center):
        owners = [name.strip() for name in IMAGE_SYNC_OWNERS.value().split(",") if name.strip()]
        for owner in owners:
            params = {"ImageOwnerAlias": owner, "Status": IMAGE_STATUSES}
            yield from cloud.numbered_pages("Ecs", "DescribeImages", params, "Images.Image", page_size=100)


def _instance_pk(item, sync):
    return sync.lookups["instances"].get(item.get("InstanceId")) if item.get("InstanceId") else None


class EcsDisks(RemoteKind):
    """The data disks of the data centre (the instances' system disks go with their instances)."""

    model = EcsDisk
    remote_key, local_key = "DiskId", "disk_id"
    fields = {
        "name": lambda item, sync: item.get("DiskName") or item["DiskId"],
        "description": "Description", "state": "Status", "identity_zone_id": zone_pk, "disk_type": "Type",
        "category": "Category", "performance_level": "PerformanceLevel",
        "size": lambda item, sync: int(item.get("Size") or 0) * GIB, "disk_charge_type": "DiskChargeType",
        "instance_id": "InstanceId", "ecs_instance_id": _instance_pk, "device": "Device",
        "portable": lambda item, sync: bool(item.get("Portable", True)),
        "delete_with_instance": lambda item, sync: bool(item.get("DeleteWithInstance")),
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    deleted_state = "Deleted"
    import_only = ("description",)   # PATCH changes it here (the cloud's description is not the portal's)

    def prepare(self, sync):
        sync.lookups["zones"] = dict(AlibabaIdentityZone.objects.filter(data_center=sync.data_center)
                                     .values_list("zone_id", "pk"))
        sync.lookups["instances"] = dict(EcsInstance.objects.filter(data_center=sync.data_center)
                                         .exclude(instance_id=None).values_list("instance_id", "pk"))

    def list_remote(self, cloud, data_center):
        return cloud.ecs_pages("DescribeDisks", {"DiskType": "data"}, "Disks.Disk")


OSS_BUCKETS = OssBuckets()
ECS_IMAGES = EcsImages()
ECS_DISKS = EcsDisks()
# after the instances: a disk looks up the instance it is attached to

"""The hybrid cloud's storage API: /oss-buckets/, /ecs-images/, /ecs-disks/.

Changes in the cloud run as flows (202 + job): creates, DELETE (in the cloud, then here; a row a
sync marked Deleted: here only), and the actions. ``POST .../delete-here/`` deletes the row only,
nothing in the cloud (a sync brings it back while the cloud has it). Reads the cloud answers at
once (a bucket's objects and usage) are asked synchronously.
"""
import uuid as uuid_lib
from datetime import datetime, timezone

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.viewsets import ResourceViewSet
from apps.core.errors import Conflict, InvalidArgument

from . import storage_serializers as s
from .cloud import Cloud
from .delete_here import DeleteHere
from .flows import CREATE_ECS_DISK, CREATE_OSS_BUCKET, DELETE_ECS_IMAGE, DELETE_OSS_BUCKET, DISK_FLOWS, UPLOAD_ECS_IMAGE
from .models import (BUCKET_STATE_MACHINE, DISK_STATE_MACHINE, IMAGE_STATE_MACHINE, BucketState, EcsDisk, EcsImage,
                     ImageOwner, ImageState, OssBucket)


# --- OSS buckets (H10) ---------------------------------------------------------------------------
def _delete_bucket(bucket, data):
    BUCKET_STATE_MACHINE.next(bucket.state, "deleting", action="delete")
    return DELETE_OSS_BUCKET, {"bucket_uuid": str(bucket.uuid)}


class OssBucketViewSet(DeleteHere, ResourceViewSet):
    """OSS buckets of the data centres (those of each data centre's region). POST makes one in the
    cloud; DELETE deletes it there (refused while it holds objects: OSS_BUCKET_NOT_EMPTY), then here."""

    queryset = OssBucket.objects.select_related("data_center", "account")
    serializer_class = s.OssBucketSerializer
    create_serializer_class = s.OssBucketCreateSerializer
    delete_action = FlowAction(plan=_delete_bucket, doc="Delete the bucket in the cloud, then here (202 + job).")

    def start_create(self, data):
        job_uuid = uuid_lib.uuid4()
        center = data["data_center"]
        row = OssBucket.objects.create(
            name=data["bucket_name"], bucket_name=data["bucket_name"], description=data.get("description", ""),
            account_id=center.account_id, data_center=center, state=BucketState.CREATING, acl=data["acl"],
            storage_class=data["storage_class"], data_redundancy_type=data["data_redundancy_type"], busy_job=job_uuid)
        args = {"bucket_uuid": str(row.uuid), "acl": data["acl"], "storage_class": data["storage_class"],
                "data_redundancy_type": data["data_redundancy_type"]}
        return [FlowStart(row, CREATE_OSS_BUCKET, args, job_uuid)]

    def _bucket(self):
        row = self.get_object()
        BUCKET_STATE_MACHINE.next(row.state, "listing", action="objects")
        cloud = Cloud.of(row.data_center)
        return cloud, cloud.oss_bucket(row.bucket_name)

    @extend_schema(responses=s.OssObjectPageSerializer, parameters=[s.OssObjectQuery])
    @action(detail=True, methods=["get"])
    def objects(self, request, uuid=None):
        """One page of the bucket's objects, in key order (asked now): ``?prefix=``, ``?delimiter=/``
        (one level, the deeper keys as ``prefixes``), ``?limit=`` (at most 1000), ``?marker=`` (the
        last page's ``next_marker``)."""
        query = s.OssObjectQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        cloud, bucket = self._bucket()
        page = cloud.oss("ListObjects", lambda: bucket.list_objects(prefix=q["prefix"], delimiter=q["delimiter"],
                                                                    marker=q["marker"], max_keys=q["limit"]))
        objects = [{"key": o.key, "size": o.size, "etag": (o.etag or "").strip('"'), "storage_class": o.storage_class,
                    "last_modified": _from_unix(o.last_modified)} for o in page.object_list]
        return Response({"objects": objects, "prefixes": list(page.prefix_list),
                         "next_marker": page.next_marker if page.is_truncated else "", "truncated": page.is_truncated})

    @extend_schema(responses=s.OssBucketInfoSerializer)
    @action(detail=True, methods=["get"])
    def info(self, request, uuid=None):
        """The bucket as the cloud describes it now (GetBucketInfo) and what it holds (GetBucketStat)."""
        cloud, bucket = self._bucket()
        info = cloud.oss("GetBucketInfo", bucket.get_bucket_info)
        stat = cloud.oss("GetBucketStat", bucket.get_bucket_stat)
        return Response({"acl": getattr(info.acl, "grant", "") or "", "storage_class": info.storage_class or "",
                         "data_redundancy_type": info.data_redundancy_type or "", "location": info.location or "",
                         "extranet_endpoint": info.extranet_endpoint or "",
                         "intranet_endpoint": info.intranet_endpoint or "", "object_count": stat.object_count,
                         "storage_size": stat.storage_size_in_bytes,
                         "multipart_upload_count": stat.multi_part_upload_count})


def _from_unix(value):
    return datetime.fromtimestamp(int(value), tz=timezone.utc).isoformat() if value else None


# --- ECS images (H5) -------------------------------------------------------------------------------
def _delete_image(image, data):
    if image.owner_alias != ImageOwner.SELF and image.state != ImageState.DELETED:
        raise Conflict(f"the image {image.image_id} is a {image.owner_alias} image: only the account's own (custom) "
                       "images are deleted in the cloud (delete it here only)", code="ECS_IMAGE_NOT_CUSTOM",
                       details={"image_id": image.image_id, "owner_alias": image.owner_alias})
    IMAGE_STATE_MACHINE.next(image.state, "deleting", action="delete")
    return DELETE_ECS_IMAGE, {"image_uuid": str(image.uuid)}


class EcsImageViewSet(DeleteHere, ResourceViewSet):
    """Images of the data centres: system ones and the account's custom ones as the syncs found them
    (``hybrid/images.syncOwners``). POST uploads a local image through an OSS bucket and imports it
    as a custom image (202 + job with its progress); DELETE deletes a custom image in the cloud, then here."""

    queryset = EcsImage.objects.select_related("data_center", "account", "local_image", "oss_bucket")
    serializer_class = s.EcsImageSerializer
    create_serializer_class = s.EcsImageUploadSerializer
    delete_action = FlowAction(plan=_delete_image, doc="Delete the custom image in the cloud, then here (202 + job).")

    def start_create(self, data):
        job_uuid, row_uuid = uuid_lib.uuid4(), uuid_lib.uuid4()
        bucket, local = data["oss_bucket"], data["local_image"]
        row = EcsImage.objects.create(
            uuid=row_uuid, name=data["name"], description=data.get("description", ""),
            account_id=bucket.account_id, data_center_id=bucket.data_center_id, state=ImageState.UPLOADING,
            owner_alias=ImageOwner.SELF, os_type=data["os_type"], architecture=data["architecture"],
            size=local.size, local_image=local, oss_bucket=bucket,
            oss_object=f"cloudportal/images/{row_uuid}.{local.format}", busy_job=job_uuid)
        args = {"image_uuid": str(row.uuid), "bucket_name": bucket.bucket_name, "image_format": local.format,
                "virtual_size": local.size, "import_params": s.import_params(data),
                "keep_oss_object": data["keep_oss_object"]}
        return [FlowStart(row, UPLOAD_ECS_IMAGE, args, job_uuid)]


# --- ECS data disks (H6) -----------------------------------------------------------------------------
def _disk_plan(name):
    def plan(disk, data):
        DISK_STATE_MACHINE.next(disk.state, DISK_STATE_MACHINE.actions[name], action=name)
        args = {"disk_uuid": str(disk.uuid)}
        if name == "attach":
            instance = data["ecs_instance"]
            if instance.data_center_id != disk.data_center_id or not instance.instance_id:
                raise InvalidArgument("attach the disk to an instance of its data centre",
                                      details={"ecs_instance_uuid": ["not an instance of the disk's data centre"]})
            args.update(instance_id=instance.instance_id, delete_with_instance=data["delete_with_instance"])
        elif name in ("rename", "charge-type"):
            args.update(data)
        return DISK_FLOWS[name], args

    return plan


def _disk_action(name, body=None):
    return FlowAction(plan=_disk_plan(name), body=body,
                      doc=f"{name} the disk in the cloud (a flow that waits for the state it leads to: 202 + job; "
                          "409 naming the state when not allowed).")


class EcsDiskViewSet(DeleteHere, ResourceViewSet):
    """Data disks of the data centres. Create, the actions and DELETE (in the cloud, then here) run
    flows (202 + job)."""

    queryset = EcsDisk.objects.select_related("data_center", "identity_zone", "ecs_instance", "account")
    serializer_class = s.EcsDiskSerializer
    create_serializer_class = s.EcsDiskCreateSerializer
    flow_actions = {
        "attach": _disk_action("attach", s.AttachBody),
        "detach": _disk_action("detach"),
        "rename": _disk_action("rename", s.DiskRenameBody),
        "charge-type": _disk_action("charge-type", s.DiskChargeTypeBody),
    }
    delete_action = _disk_action("delete")

    def start_create(self, data):
        job_uuid = uuid_lib.uuid4()
        center = data["data_center"]
        row = EcsDisk.objects.create(
            name=data["name"], description=data.get("description", ""), account_id=center.account_id,
            data_center=center, identity_zone=data["identity_zone"], category=data["category"],
            performance_level=data.get("performance_level") or "", size=data["size"],
            disk_charge_type=data["disk_charge_type"], busy_job=job_uuid)
        args = {"disk_uuid": str(row.uuid), "create_params": s.create_disk_params(data)}
        return [FlowStart(row, CREATE_ECS_DISK, args, job_uuid)]


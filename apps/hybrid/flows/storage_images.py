"""ECS images (H5): delete a custom image, and upload a local image as one.

    upload: RecordUpload -> UploadToOss -> ImportImageInCloud -> WaitImageAvailable -> MarkImageAvailable
            -> RemoveUploadedObject
    delete: BeginDeleting -> DeleteImageInCloud -> DeleteEcsImageRow

The upload streams the local image's file (the backup storage's copy, ``apps.storage``) to an OSS
bucket of the data centre in an OSS multipart upload, parts of ``hybrid/oss.partSize`` read from
the file one at a time. A failed part fails the step, and the step's retries continue the upload
where it stopped: the upload in progress for the object is the checkpoint (ListMultipartUploads,
ListParts), and the parts the cloud has are not sent again. The job's progress follows the bytes
sent (0-60 %), then the cloud's import (60-100 %). ImportImage is tagged ``cloudportal:uuid`` = the
row's uuid, by which the rollback finds the image made when its id was not recorded; its
ClientToken (the job's uuid) makes a second ImportImage answer the first one's image. A rollback aborts the
multipart upload and deletes the object and the imported image. Once the image is Available the
object is deleted (the image no longer needs it) unless the request keeps it.

Arguments: image_uuid, bucket_name, image_format and virtual_size (the local image's: it may be
deleted once uploaded), import_params (ImportImage's, validated by the API), keep_oss_object.
"""
import logging
import math
import os

import oss2

from apps.core.errors import CloudPortalError, Conflict
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.storage.imagestore import blob_for

from ..cloud import AlibabaError, is_not_found
from ..models import EcsImage, ImageState
from ..remote_kinds import ECS_IMAGES, IMAGE_STATUSES, PORTAL_TAG
from ..storage_cloud import cloud_code, oss_bucket
from ..storage_config import IMAGE_IMPORT_TIMEOUT, OSS_PART_SIZE
from ..syncing import Sync
from .storage_common import Begin, DeleteRow, cloud_of, fire, row_of, wait_until

log = logging.getLogger(__name__)

UPLOAD_SHARE = 60            # percent of the job the upload takes; the import takes the rest
MAX_PARTS = 10000
GIB = 1 << 30


class LocalImageMissing(CloudPortalError):
    status = 409
    code = "LOCAL_IMAGE_MISSING"


def image_file(row):
    """The path of the local image's bits on a backup storage."""
    local = row.local_image
    path = blob_for(local.sha256) if local is not None and local.sha256 else None
    if path is None:
        raise LocalImageMissing("the local image's file is on no backup storage any more (was it expunged?)",
                                details={"local_image_uuid": str(local.uuid) if local else None})
    return str(path)


def upload_target(ctx):
    """(oss2 bucket, object key, the row) of the upload. The bucket is named by the job's arguments:
    its row may be deleted here meanwhile (the bucket is still there)."""
    row = row_of(ctx, EcsImage)
    return oss_bucket(cloud_of(ctx, EcsImage), ctx.args["bucket_name"]), row.oss_object, row


def report_upload(ctx, sent, total, resumed_from):
    percent = UPLOAD_SHARE * sent // total if total else 0
    ctx.report_progress(percent, bytes_sent=sent, bytes_total=total, resumed_from_bytes=resumed_from)


class RecordUpload(DbStep):
    """The row exists already (the API made it, Uploading); a failed upload deletes it."""

    def run(self, ctx):
        ctx.image_name = row_of(ctx, EcsImage).name

    def rollback(self, ctx):
        """The row goes, unless the cloud would not delete the image imported: then it stays, with
        the image's id, for the next sync to describe (and the operator to delete)."""
        left = ctx.get("left_in_cloud")
        if left:
            fire(EcsImage, ctx.args["image_uuid"], None, image_id=left[0])
            return
        EcsImage.objects.filter(uuid=ctx.args["image_uuid"]).delete()


class UploadToOss(RemoteStep):
    """The file to OSS part by part (``hybrid/oss.partSize`` each, read from the file one at a time,
    so an image of any size streams). The upload in progress for the object is the checkpoint: a
    retried step lists it and the parts the cloud has, and sends only the rest."""

    retries = 3
    retry_delay = 1.0

    def run(self, ctx):
        cloud = cloud_of(ctx, EcsImage)
        bucket, key, row = upload_target(ctx)
        path = image_file(row)
        size = os.path.getsize(path)
        part_size = OSS_PART_SIZE.value()
        part_size = max(part_size, -(-size // MAX_PARTS))   # the cloud takes at most 10,000 parts
        upload_id, done = resume_or_start(cloud, bucket, key, size, part_size)
        resumed_from = sum(part.size for part in done.values())
        ctx.resumed_from_bytes = resumed_from
        report_upload(ctx, resumed_from, size, resumed_from)
        sent = resumed_from
        with open(path, "rb") as source:
            for number in range(1, max(1, -(-size // part_size)) + 1):
                if number in done:
                    continue
                offset = (number - 1) * part_size
                length = min(part_size, size - offset)
                source.seek(offset)
                answer = cloud.oss("UploadPart", lambda: bucket.upload_part(
                    key, upload_id, number, oss2.utils.SizedFileAdapter(source, length)))
                done[number] = oss2.models.PartInfo(number, answer.etag, size=length)
                sent += length
                report_upload(ctx, sent, size, resumed_from)
        parts = [done[number] for number in sorted(done)]
        result = cloud.oss("CompleteMultipartUpload", lambda: bucket.complete_multipart_upload(key, upload_id, parts))
        ctx.uploaded = {"bucket": bucket.bucket_name, "key": key, "size": size, "etag": result.etag,
                        "parts": len(parts)}

    def rollback(self, ctx):
        """Abort the multipart uploads of the object and delete it (whichever the step got to)."""
        cloud = cloud_of(ctx, EcsImage)
        bucket, key, _ = upload_target(ctx)
        for upload in uploads_of(cloud, bucket, key):
            abort(cloud, bucket, key, upload.upload_id)
        cloud.oss("DeleteObject", lambda: bucket.delete_object(key))


def uploads_of(cloud, bucket, key):
    answer = cloud.oss("ListMultipartUploads", lambda: bucket.list_multipart_uploads(prefix=key, max_uploads=1000))
    return [upload for upload in answer.upload_list if upload.key == key]


def abort(cloud, bucket, key, upload_id):
    try:
        cloud.oss("AbortMultipartUpload", lambda: bucket.abort_multipart_upload(key, upload_id))
    except AlibabaError as exc:
        if not is_not_found(exc):
            raise


def resume_or_start(cloud, bucket, key, size, part_size):
    """(upload id, {part number: PartInfo the cloud has}) of the object's upload in progress, else of
    a new one. An upload whose parts are not the ones this file cut in ``part_size`` pieces (the
    config or the file changed) is aborted, not mixed into the object."""
    def expected(number):
        return min(part_size, size - (number - 1) * part_size)

    for upload in uploads_of(cloud, bucket, key):
        parts = cloud.oss("ListParts", lambda: list(oss2.PartIterator(bucket, key, upload.upload_id)))
        if all(part.part_number >= 1 and part.size == expected(part.part_number) for part in parts):
            return upload.upload_id, {part.part_number: part for part in parts}
        abort(cloud, bucket, key, upload.upload_id)
    upload_id = cloud.oss("InitiateMultipartUpload", lambda: bucket.init_multipart_upload(key)).upload_id
    return upload_id, {}


def describe_image(cloud, image_id):
    """The cloud's description of one of the account's images (a dict), or None when it has none."""
    body = cloud.ecs("DescribeImages", {"ImageId": image_id, "Status": IMAGE_STATUSES, "ImageOwnerAlias": "self"})
    return next((i for i in (body.get("Images") or {}).get("Image") or [] if i.get("ImageId") == image_id), None)


def images_made_for(cloud, row_uuid):
    body = cloud.ecs("DescribeImages", {"ImageOwnerAlias": "self", "Status": IMAGE_STATUSES,
                                        "Tag": [{"Key": PORTAL_TAG, "Value": str(row_uuid)}]})
    return [i for i in (body.get("Images") or {}).get("Image") or [] if ECS_IMAGES.created_by(i) == str(row_uuid)]


def delete_image_remote(cloud, image_id):
    """DeleteImage; one the cloud no longer has is fine, one instances use is refused in words."""
    try:
        cloud.ecs("DeleteImage", {"ImageId": image_id})
    except AlibabaError as exc:
        if is_not_found(exc):
            return
        if cloud_code(exc) == "ImageUsingByInstance":
            raise Conflict(f"instances were created from the image {image_id}: the cloud keeps it while they "
                           "exist", code="ECS_IMAGE_IN_USE", details={"image_id": image_id, **exc.details}) from None
        raise


class ImportImageInCloud(RemoteStep):
    def run(self, ctx):
        _, key, _ = upload_target(ctx)
        mapping = {"OSSBucket": ctx.args["bucket_name"], "OSSObject": key, "Format": ctx.args["image_format"].upper()}
        if ctx.args.get("virtual_size"):
            mapping["DiskImageSize"] = max(5, math.ceil(ctx.args["virtual_size"] / GIB))   # GiB
        # the job's ClientToken is the look before the import: sent again, it answers the image made
        params = {**ctx.args["import_params"], "DiskDeviceMapping": [mapping], "ClientToken": str(ctx.job.uuid),
                  "Tag": [{"Key": PORTAL_TAG, "Value": ctx.args["image_uuid"]}]}
        ctx.image_id = cloud_of(ctx, EcsImage).ecs("ImportImage", params).get("ImageId")

    def record(self, ctx):
        if ctx.get("image_id"):
            fire(EcsImage, ctx.args["image_uuid"], None, image_id=ctx.image_id, state=ImageState.IMPORTING)

    def rollback(self, ctx):
        """Delete the image imported: the id recorded, else whatever carries the row's tag. What the
        cloud would not delete is named in ``ctx.left_in_cloud`` (RecordUpload keeps the row)."""
        cloud = cloud_of(ctx, EcsImage)
        ids = [ctx.image_id] if ctx.get("image_id") else [
            i["ImageId"] for i in images_made_for(cloud, ctx.args["image_uuid"])]
        ctx.left_in_cloud = ids
        for image_id in ids:
            delete_image_remote(cloud, image_id)
            ctx.left_in_cloud = [one for one in ctx.left_in_cloud if one != image_id]


def _import_percent(item):
    text = str((item or {}).get("Progress") or "0").rstrip("%")
    return UPLOAD_SHARE + (100 - UPLOAD_SHARE) * (int(text) if text.isdigit() else 0) // 100


class WaitImageAvailable(RemoteStep, NoRollback):
    def run(self, ctx):
        cloud = cloud_of(ctx, EcsImage)
        image_id = ctx.image_id

        def reached(item):
            status = (item or {}).get("Status")
            if item is None or status in ("CreateFailed", "UnAvailable"):
                raise AlibabaError(f"Alibaba Cloud could not import the image {image_id} (it is "
                                   f"{status or 'gone'}): is the file a {ctx.args['import_params'].get('OSType')} "
                                   "disk image it can boot?", code="ALIBABA_IMPORT_FAILED", status=422,
                                   details={"image_id": image_id, "status": status or "gone"})
            return status == "Available"

        ctx.remote = wait_until(ctx, lambda: describe_image(cloud, image_id), reached, f"image {image_id} Available",
                                timeout=IMAGE_IMPORT_TIMEOUT.value(), progress=_import_percent)


class MarkImageAvailable(DbStep, NoRollback):
    def run(self, ctx):
        row = row_of(ctx, EcsImage)
        sync = Sync(row.data_center, None)
        values = ECS_IMAGES.values(ctx.remote, sync)
        values.pop("state", None)
        values.pop("name", None)   # the portal's name stays (the cloud's ImageName is made from it)
        fire(EcsImage, row.uuid, "available", **values)
        ctx.result = {"image_uuid": str(row.uuid), "image_id": ctx.image_id, "state": ImageState.AVAILABLE,
                      "uploaded_bytes": ctx.uploaded["size"]}


class RemoveUploadedObject(RemoteStep, NoRollback):
    """The uploaded object goes once the image is made (unless the request keeps it); a cloud
    that refuses leaves it there, said in the job's result: the image is good all the same."""

    def run(self, ctx):
        if ctx.args.get("keep_oss_object"):
            return
        bucket, key, _ = upload_target(ctx)
        try:
            cloud_of(ctx, EcsImage).oss("DeleteObject", lambda: bucket.delete_object(key))
        except AlibabaError as exc:
            log.warning("the uploaded image %s/%s was left in OSS: %s", bucket.bucket_name, key, exc.message)
            ctx.result = {**ctx.result, "oss_object_left": key}


class DeleteImageInCloud(RemoteStep, NoRollback):
    def run(self, ctx):
        row = row_of(ctx, EcsImage)
        if not row.image_id or ctx.get("state_before") == ImageState.DELETED:
            return
        cloud = cloud_of(ctx, EcsImage)
        delete_image_remote(cloud, row.image_id)
        wait_until(ctx, lambda: describe_image(cloud, row.image_id), lambda item: item is None,
                   f"image {row.image_id} deleted")


UPLOAD_ECS_IMAGE = Flow("upload-ecs-image", [RecordUpload, UploadToOss, ImportImageInCloud, WaitImageAvailable,
                                             MarkImageAvailable, RemoveUploadedObject],
                        action="upload-ecs-image", timeout=86400)
DELETE_ECS_IMAGE = Flow("delete-ecs-image", [Begin.of(EcsImage, "deleting"), DeleteImageInCloud,
                                             DeleteRow.of(EcsImage)], action="delete-ecs-image")

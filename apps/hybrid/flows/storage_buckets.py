"""OSS buckets (H10): create one in the data centre's region, delete one in the cloud.

    create: RecordOssBucket -> CheckBucketName -> CreateBucketInCloud -> ReadBucket -> MarkBucketAvailable
    delete: BeginDeleting -> DeleteBucketInCloud -> DeleteOssBucketRow

A bucket's name is global across Alibaba Cloud, so the create first asks whether the name is free
(GetBucketLocation): a bucket the account has already is not taken over (nor deleted by a rollback),
it is found by a sync. The bucket is made signed v4 in the data centre's region (where a v1 call to
one endpoint would put it) and read back (GetBucketInfo) before the row says Available; a failure
after the create deletes it. The cloud refuses to delete a bucket that still holds objects or
unfinished multipart uploads: the delete then fails with OSS_BUCKET_NOT_EMPTY and the row stays.

Arguments: bucket_uuid; create: acl, storage_class, data_redundancy_type.
"""
import oss2

from apps.core.errors import Conflict
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..cloud import AlibabaError, is_not_found
from ..models import BucketState, OssBucket
from ..remote_kinds import cloud_time
from ..storage_cloud import cloud_code, oss_bucket, region_of_location
from .storage_common import Begin, DeleteRow, cloud_of, fire, row_of


def bucket_of(ctx):
    row = row_of(ctx, OssBucket)
    return oss_bucket(cloud_of(ctx, OssBucket), row.bucket_name), row


class RecordOssBucket(DbStep):
    """The row exists already (the API made it, Creating); a failed create deletes it."""

    def run(self, ctx):
        ctx.bucket_name = row_of(ctx, OssBucket).bucket_name

    def rollback(self, ctx):
        """The row goes, unless the cloud would not delete the bucket made: then it stays for the
        next sync to describe (and the operator to delete)."""
        if ctx.get("left_in_cloud"):
            return
        OssBucket.objects.filter(uuid=ctx.args["bucket_uuid"]).delete()


class CheckBucketName(RemoteStep, NoRollback):
    def run(self, ctx):
        cloud = cloud_of(ctx, OssBucket)
        bucket, row = bucket_of(ctx)
        try:
            location = cloud.oss("GetBucketLocation", bucket.get_bucket_location).location
        except AlibabaError as exc:
            if is_not_found(exc):
                return   # free
            if cloud_code(exc) == "AccessDenied":
                raise Conflict(f"the bucket name {row.bucket_name} is taken by another Alibaba Cloud account "
                               "(bucket names are global)", code="OSS_BUCKET_NAME_TAKEN",
                               details={"bucket_name": row.bucket_name}) from None
            raise
        raise Conflict(f"the account has a bucket {row.bucket_name} already (in {region_of_location(location)}): "
                       "sync the data centre of that region to see it", code="OSS_BUCKET_EXISTS",
                       details={"bucket_name": row.bucket_name, "region_id": region_of_location(location)})


class CreateBucketInCloud(RemoteStep):
    def run(self, ctx):
        cloud = cloud_of(ctx, OssBucket)
        bucket, row = bucket_of(ctx)
        config = oss2.models.BucketCreateConfig(ctx.args["storage_class"], ctx.args["data_redundancy_type"])
        try:
            cloud.oss("PutBucket", lambda: bucket.create_bucket(ctx.args["acl"], config))
        except AlibabaError as exc:
            if cloud_code(exc) == "BucketAlreadyExists":
                raise Conflict(f"the bucket name {row.bucket_name} is taken by another Alibaba Cloud account",
                               code="OSS_BUCKET_NAME_TAKEN", details={"bucket_name": row.bucket_name}) from None
            raise

    def rollback(self, ctx):
        """Delete the bucket the step made (CheckBucketName saw the name free before it ran). When
        the cloud will not, ``ctx.left_in_cloud`` says so (RecordOssBucket keeps the row)."""
        cloud = cloud_of(ctx, OssBucket)
        bucket = oss_bucket(cloud, ctx.get("bucket_name") or row_of(ctx, OssBucket).bucket_name)
        ctx.left_in_cloud = [bucket.bucket_name]
        try:
            cloud.oss("DeleteBucket", bucket.delete_bucket)
        except AlibabaError as exc:
            if not is_not_found(exc):
                raise
        ctx.left_in_cloud = []


class ReadBucket(RemoteStep, NoRollback):
    """The bucket as the cloud describes it now (there at once: OSS makes a bucket synchronously)."""

    def run(self, ctx):
        cloud = cloud_of(ctx, OssBucket)
        bucket, _ = bucket_of(ctx)
        info = cloud.oss("GetBucketInfo", bucket.get_bucket_info)
        ctx.remote = {"location": info.location or "", "storage_class": info.storage_class or "",
                      "acl": getattr(info.acl, "grant", "") or "",
                      "data_redundancy_type": info.data_redundancy_type or "",
                      "extranet_endpoint": info.extranet_endpoint or "",
                      "intranet_endpoint": info.intranet_endpoint or "", "creation_date": info.creation_date or ""}


class MarkBucketAvailable(DbStep, NoRollback):
    def run(self, ctx):
        remote = dict(ctx.remote)
        created = cloud_time(remote.pop("creation_date"))
        fire(OssBucket, ctx.args["bucket_uuid"], "available", remote_created_at=created, **remote)
        ctx.result = {"bucket_uuid": ctx.args["bucket_uuid"], "bucket_name": ctx.bucket_name,
                      "state": BucketState.AVAILABLE}


class DeleteBucketInCloud(RemoteStep, NoRollback):
    """DeleteBucket; one the cloud no longer has is fine, one not empty is refused in words."""

    def run(self, ctx):
        if ctx.get("state_before") == BucketState.DELETED:
            return   # gone in the cloud already (a sync said so)
        cloud = cloud_of(ctx, OssBucket)
        bucket, row = bucket_of(ctx)
        try:
            cloud.oss("DeleteBucket", bucket.delete_bucket)
        except AlibabaError as exc:
            if is_not_found(exc):
                return
            if cloud_code(exc) == "BucketNotEmpty":
                raise Conflict(f"the bucket {row.bucket_name} still holds objects or unfinished multipart uploads: "
                               "empty it first (or delete it here only)", code="OSS_BUCKET_NOT_EMPTY",
                               details={"bucket_name": row.bucket_name, **exc.details}) from None
            raise


CREATE_OSS_BUCKET = Flow("create-oss-bucket", [RecordOssBucket, CheckBucketName, CreateBucketInCloud, ReadBucket,
                                               MarkBucketAvailable], action="create-oss-bucket")
DELETE_OSS_BUCKET = Flow("delete-oss-bucket", [Begin.of(OssBucket, "deleting"), DeleteBucketInCloud,
                                               DeleteRow.of(OssBucket)], action="delete-oss-bucket")

"""An image made from a volume (or from any read-only file on a host, such as a volume snapshot).

CREATE_IMAGE_FROM_VOLUME: RecordImage -> HoldSource -> UploadFromHost -> DetectFormat -> StoreImage
-> ReleaseSource -> MarkReady.

The host's agent flattens the file's chain into one qcow2 (``/v1/volume/convert-to-image``) and
PUTs it to the portal (``volume_upload``), which writes it to the first backup storage's tmp/;
from there the steps of add-image (images.py) take over unchanged: the format is checked, the bits
are stored once under their sha256 on each backup storage, the image becomes Ready. A failure
anywhere removes the temporary file, the stored bits (unless another image has them) and the row.

A volume in use by a running VM is refused before the job starts (409: stop the VM or snapshot
it first): the copy would not be consistent. Compute says which volumes are in use through
``VOLUME_USE_CHECKS`` (storage does not import compute). QEMU's image locking is the second
guard: a domain started during the conversion cannot take the file, and a conversion of a file a
running domain writes fails with VOLUME_IN_USE.

The job holds the volume (or the snapshot) while its file is read: a snapshot, revert or delete
of it waits (409 RESOURCE_BUSY) instead of changing the chain under the conversion.

Args: image_uuid, backup_storage_uuids, source {"host_uuid", "path", "volume_uuid"?, "snapshot_uuid"?}.
"""
import os
import uuid as uuid_lib

from django.db import transaction

from apps.core.errors import CloudPortalError, InvalidState
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep, start_job
from apps.infra import agent
from apps.infra.models import Host, HostStatus

from .. import download, space
from ..errors import BackupStorageFull
from ..models import (BackupStorage, BackupStorageStatus, Image, ImageMediaType, ImageStatus, Volume,
                      VolumeSnapshot, VolumeSnapshotStatus, VolumeStatus, VolumeType)
from ..snapshot_chain import claim, host_of, release
from ..volume_upload import part_path, upload_target
from .images import DetectFormat, MarkReady, RecordImage, StoreImage

# callables ``check(volume)`` raising a CloudPortalError (409) when the volume's bits are changing
# (compute: its VM runs); registered by the apps above storage in their AppConfig.ready()
VOLUME_USE_CHECKS = []


class UploadCorrupt(CloudPortalError):
    status = 502
    code = "IMAGE_UPLOAD_CORRUPT"


def _source_host(ctx):
    host = Host.objects.filter(uuid=ctx.args["source"]["host_uuid"]).first()
    if host is None or host.status != HostStatus.CONNECTED:
        raise CloudPortalError("the host holding the volume is not connected", code="HOST_DISCONNECTED", status=409,
                               details={"host_uuid": ctx.args["source"]["host_uuid"]})
    return host


def _first_backup_storage(ctx):
    return BackupStorage.objects.get(uuid=ctx.args["backup_storage_uuids"][0])


def _source_rows(ctx):
    source = ctx.args["source"]
    if source.get("snapshot_uuid"):
        return list(VolumeSnapshot.objects.filter(uuid=source["snapshot_uuid"]))
    if source.get("volume_uuid"):
        return list(Volume.objects.filter(uuid=source["volume_uuid"]))
    return []


class HoldSource(DbStep):
    def run(self, ctx):
        rows = _source_rows(ctx)
        if not rows:
            raise CloudPortalError("the volume or snapshot to make the image from is gone", code="NOT_FOUND",
                                   status=404, details={"source": {k: v for k, v in ctx.args["source"].items()
                                                                   if k != "path"}})
        claim(ctx, rows)

    def rollback(self, ctx):
        release(ctx)


class ReleaseSource(DbStep, NoRollback):
    def run(self, ctx):
        release(ctx)


class UploadFromHost(RemoteStep):
    """The agent converts the file and PUTs it here; what arrived must hash as the agent says."""

    def run(self, ctx):
        source = ctx.args["source"]
        if source.get("volume_uuid"):   # checked again now that the job holds the image
            volume = Volume.objects.filter(uuid=source["volume_uuid"]).first()
            if volume is None:
                raise CloudPortalError(f"volume {source['volume_uuid']} is gone", code="VOLUME_NOT_FOUND", status=404)
            check_volume_unused(volume)
        host, bs = _source_host(ctx), _first_backup_storage(ctx)
        bs.refresh_capacity()
        temp = part_path(bs, ctx.job.uuid)
        ctx.temp_path = str(temp)
        # a fresh request id (None): the signature in the body is new at each attempt
        answer = agent.call(host, "/v1/volume/convert-to-image",
                            {"src": source["path"], "upload": upload_target(bs.uuid, ctx.job.uuid)})
        if not temp.is_file():
            raise UploadCorrupt("the host reported the upload done but the portal has no file from it")
        size, sha256 = download.hash_file(temp)
        if (size, sha256) != (answer.get("actual_size"), answer.get("sha256")):
            raise UploadCorrupt("the bits the portal received differ from what the host sent",
                                details={"received": {"size": size, "sha256": sha256},
                                         "sent": {"size": answer.get("actual_size"), "sha256": answer.get("sha256")}})
        if size > bs.available_capacity:
            raise BackupStorageFull(f"backup storage {bs.name} has no room for {size} bytes",
                                    details={"backup_storage_uuid": str(bs.uuid), "size": size})
        ctx.actual_size, ctx.sha256 = size, sha256

    def rollback(self, ctx):
        try:
            temp = part_path(_first_backup_storage(ctx), ctx.job.uuid)
        except BackupStorage.DoesNotExist:
            return
        for path in (temp, temp.with_suffix(".receiving")):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass


CREATE_IMAGE_FROM_VOLUME = Flow("create-image-from-volume", [
    RecordImage, HoldSource, UploadFromHost, DetectFormat, StoreImage, ReleaseSource, MarkReady,
], action="create-image", timeout=6 * 3600)


# --- what the API calls --------------------------------------------------------------------
def check_volume_unused(volume):
    for check in VOLUME_USE_CHECKS:
        check(volume)


def default_backup_storages(primary_storage):
    """The backup storages of the volume's zone that can take an image (Enabled, Connected)."""
    found = BackupStorage.objects.filter(zones=primary_storage.zone_id, state="Enabled",
                                         status=BackupStorageStatus.CONNECTED).order_by("created_at")
    return [str(bs.uuid) for bs in found]


def image_source_of_volume(volume):
    """``(host, path)`` of a volume an image can be made from, or the 409 saying why not."""
    if volume.status != VolumeStatus.READY:
        raise InvalidState(f"volume {volume.name} is {volume.status}, not Ready",
                           details={"volume_uuid": str(volume.uuid), "status": volume.status})
    check_volume_unused(volume)
    host = space.host_for(volume)
    if host is None or host.status != HostStatus.CONNECTED:
        raise CloudPortalError(f"no connected host reaches volume {volume.name}", code="HOST_DISCONNECTED",
                               status=409, details={"volume_uuid": str(volume.uuid)})
    return host, volume.install_path


def start_image_from_file(user, *, host, path, primary_storage, data, media_type, platform="Linux", extra=None):
    """Make the image row (Downloading) and start CREATE_IMAGE_FROM_VOLUME on it; ``(image, job)``.
    ``data``: name, description, public, backup_storage_uuids (default: the zone's), platform.
    For snapshots (issue 19): ``path`` is the snapshot's read-only file on ``host``."""
    bs_uuids = [str(u) for u in data.get("backup_storage_uuids") or []] or default_backup_storages(primary_storage)
    if not bs_uuids:
        raise BackupStorageFull("no Enabled, Connected backup storage is attached to the volume's zone",
                                code="NO_BACKUP_STORAGE", details={"zone_uuid": str(primary_storage.zone.uuid)})
    job_uuid = uuid_lib.uuid4()
    with transaction.atomic():
        image = Image.objects.create(
            name=data["name"], description=data.get("description", ""), url="", status=ImageStatus.DOWNLOADING,
            platform=data.get("platform") or platform, media_type=media_type, account=user.account,
            public=bool(data.get("public")), busy_job=job_uuid)
        job = start_job(CREATE_IMAGE_FROM_VOLUME, resource=image, user=user, job_uuid=job_uuid, args={
            "image_uuid": str(image.uuid), "backup_storage_uuids": bs_uuids,
            "source": {"host_uuid": str(host.uuid), "path": path, **(extra or {})}})
    return image, job


def start_image_from_volume(user, volume, data):
    host, path = image_source_of_volume(volume)
    media_type = (ImageMediaType.ROOT_VOLUME_TEMPLATE if volume.type == VolumeType.ROOT
                  else ImageMediaType.DATA_VOLUME_TEMPLATE)
    platform = volume.image.platform if volume.image_id else "Linux"
    return start_image_from_file(user, host=host, path=path, primary_storage=volume.primary_storage, data=data,
                                 media_type=media_type, platform=platform, extra={"volume_uuid": str(volume.uuid)})


def start_image_from_snapshot(user, snapshot, data):
    """An image of a snapshot's file: read-only once taken, so its VM may be running."""
    if snapshot.status != VolumeSnapshotStatus.READY or not snapshot.install_path:
        raise InvalidState(f"snapshot {snapshot.name} is {snapshot.status}, not Ready", code="SNAPSHOT_NOT_READY",
                           details={"snapshot_uuid": str(snapshot.uuid), "status": snapshot.status})
    volume = snapshot.volume
    host = host_of([volume], None)
    media_type = (ImageMediaType.ROOT_VOLUME_TEMPLATE if volume.type == VolumeType.ROOT
                  else ImageMediaType.DATA_VOLUME_TEMPLATE)
    platform = volume.image.platform if volume.image_id else "Linux"
    return start_image_from_file(user, host=host, path=snapshot.install_path, primary_storage=volume.primary_storage,
                                 data=data, media_type=media_type, platform=platform,
                                 extra={"snapshot_uuid": str(snapshot.uuid)})

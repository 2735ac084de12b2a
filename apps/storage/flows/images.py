"""Adding an image (from a URL or a browser upload) and expunging one.

ADD_IMAGE: RecordImage -> DownloadImage -> DetectFormat -> StoreImage -> MarkReady. Any failure rolls
back in reverse: the stored files (unless another image has the same bits), the temporary file and
the image row go; the job keeps the error (ZStack removes a failed image the same way).
"""
import logging
import os
import shutil

from django.db import transaction

from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from .. import detect, download
from ..errors import BackupStorageFull, ImageFormatMismatch
from ..models import IMAGE_STATUS_MACHINE, BackupStorage, Image, ImageBackupStorageRef, ImageMediaType

log = logging.getLogger(__name__)

DOWNLOAD_PROGRESS = (5, 80)  # the download moves the job from 5% to 80%


def _image(ctx):
    return Image.objects.get(uuid=ctx.args["image_uuid"])


def _backup_storages(ctx):
    by_uuid = {str(bs.uuid): bs for bs in BackupStorage.objects.filter(uuid__in=ctx.args["backup_storage_uuids"])}
    return [by_uuid[u] for u in ctx.args["backup_storage_uuids"] if u in by_uuid]


class RecordImage(DbStep):
    """The row exists (the API made it to answer 202 with it); undoing the add deletes it."""

    def run(self, ctx):
        _image(ctx)

    def rollback(self, ctx):
        Image.objects.filter(uuid=ctx.args["image_uuid"]).delete()


class DownloadImage(RemoteStep):
    """Stream the URL (or move the uploaded file) into the first backup storage's tmp/, hashing it."""

    def run(self, ctx):
        storages = _backup_storages(ctx)
        temp = storages[0].temp_dir() / f"{ctx.job.uuid}.part"
        ctx.temp_path = str(temp)
        upload = ctx.args.get("upload_path")
        if upload:
            shutil.move(upload, temp)
            size, sha256 = download.hash_file(temp, on_progress=self._progress(ctx))
        else:
            for bs in storages:
                bs.refresh_capacity()
            limit = min(bs.available_capacity for bs in storages)
            size, sha256 = download.fetch(ctx.args["url"], temp, limit=limit, on_progress=self._progress(ctx))
        ctx.actual_size, ctx.sha256 = size, sha256

    @staticmethod
    def _progress(ctx):
        low, high = DOWNLOAD_PROGRESS

        def report(done, total):
            ctx.report_progress(low + int((high - low) * done / total) if total else low,
                                bytes_done=done, bytes_total=total)
        return report

    def rollback(self, ctx):
        for path in (ctx.get("temp_path"), ctx.args.get("upload_path")):
            if path:
                try:
                    os.remove(path)
                except FileNotFoundError:
                    pass


class DetectFormat(RemoteStep, NoRollback):
    def run(self, ctx):
        found = detect.detect(ctx.temp_path, ctx.actual_size)
        wanted = ctx.args.get("format")
        if wanted and wanted != found["format"]:
            raise ImageFormatMismatch(f"the image was declared {wanted} but it is {found['format']}",
                                      details={"declared": wanted, "detected": found["format"]})
        ctx.format, ctx.size = found["format"], found["size"]


def _drop_ref(bs_uuid, image, sha256, new_file=True):
    """Remove ``image`` from a backup storage; remove the file when no other image has these bits."""
    with transaction.atomic():
        bs = BackupStorage.objects.select_for_update().filter(uuid=bs_uuid).first()
        if bs is None:
            return
        ImageBackupStorageRef.objects.filter(backup_storage=bs, image=image).delete()
        shared = ImageBackupStorageRef.objects.filter(backup_storage=bs, image__sha256=sha256).exists()
        if not shared:
            try:
                os.remove(bs.blob_path(sha256))
                bs.release(image.actual_size)
            except FileNotFoundError:
                pass
    bs.refresh_capacity()


class StoreImage(RemoteStep):
    """Put the bits on each backup storage under their sha256, once per storage (another image with
    the same bits shares the file). Capacity is reserved with a conditional UPDATE."""

    def run(self, ctx):
        image = _image(ctx)
        sha256, size = ctx.sha256, ctx.actual_size
        image.sha256, image.actual_size = sha256, size
        image.save(update_fields=["sha256", "actual_size", "updated_at"])   # a signal: kept image rows go
        stored = ctx.get("stored", [])
        source = ctx.temp_path
        for bs in _backup_storages(ctx):
            if any(s["bs"] == str(bs.uuid) for s in stored):
                continue
            with transaction.atomic():
                bs = BackupStorage.objects.select_for_update().get(pk=bs.pk)
                blob = bs.blob_path(sha256)
                new_file = not blob.is_file()
                if new_file:
                    if not bs.reserve(size):
                        raise BackupStorageFull(f"backup storage {bs.name} has no room for {size} bytes",
                                                details={"backup_storage_uuid": str(bs.uuid), "size": size})
                    blob.parent.mkdir(parents=True, exist_ok=True)
                    if source == ctx.temp_path and os.path.exists(source):
                        os.replace(source, blob)   # same filesystem: the temp file is in this storage's tmp/
                    else:
                        part = bs.temp_dir() / f"{ctx.job.uuid}.copy"
                        shutil.copyfile(source, part)
                        os.replace(part, blob)
                ImageBackupStorageRef.objects.get_or_create(image=image, backup_storage=bs,
                                                            defaults={"install_path": str(blob)})
            source = str(blob)
            stored.append({"bs": str(bs.uuid), "new_file": new_file})
            ctx.stored = stored
            bs.refresh_capacity()
        if os.path.exists(ctx.temp_path):
            os.remove(ctx.temp_path)   # the bits were there already

    def rollback(self, ctx):
        image = Image.objects.filter(uuid=ctx.args["image_uuid"]).first()
        if image is None or not ctx.get("sha256"):
            return
        for bs in _backup_storages(ctx):
            _drop_ref(str(bs.uuid), image, ctx.sha256)


class MarkReady(DbStep, NoRollback):
    def run(self, ctx):
        with transaction.atomic():
            image = Image.objects.select_for_update().get(uuid=ctx.args["image_uuid"])
            image.status = IMAGE_STATUS_MACHINE.next(image.status, "ready")
            image.format = ctx.format
            image.size = ctx.size
            image.actual_size = ctx.actual_size
            image.sha256 = ctx.sha256
            if ctx.format == "iso":
                image.media_type = ImageMediaType.ISO
            image.save()
        ctx.result = {"image_uuid": str(image.uuid), "format": image.format, "size": image.size,
                      "actual_size": image.actual_size, "sha256": image.sha256}


ADD_IMAGE = Flow("add-image", [RecordImage, DownloadImage, DetectFormat, StoreImage, MarkReady],
                 action="add-image", timeout=6 * 3600)


class ExpungeBits(RemoteStep, NoRollback):
    """Remove the image from every backup storage; a file goes only when no other image uses it."""

    def run(self, ctx):
        image = _image(ctx)
        refs = list(ImageBackupStorageRef.objects.filter(image=image).select_related("backup_storage"))
        for ref in refs:
            _drop_ref(str(ref.backup_storage.uuid), image, image.sha256)


class DeleteImageRow(DbStep, NoRollback):
    def run(self, ctx):
        Image.objects.filter(uuid=ctx.args["image_uuid"]).delete()
        ctx.result = {"expunged": ctx.args["image_uuid"]}


EXPUNGE_IMAGE = Flow("expunge-image", [ExpungeBits, DeleteImageRow], action="expunge-image")

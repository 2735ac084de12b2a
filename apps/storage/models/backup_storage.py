"""Backup storage: where images live. ``ImageStore`` is a directory on the portal machine that the
portal serves to hosts over HTTP (``/image-store/<sha256>``, signed); images are stored by content
hash under ``<url>/images/<sha256[:2]>/<sha256>`` so the same bits are stored once."""
import os
from pathlib import Path

from django.db import models
from django.db.models import F

from apps.core.errors import CloudPortalError
from apps.core.models import Resource
from apps.core.states import ENABLE_STATE_MACHINE, EnableState


class BackupStorageType(models.TextChoices):
    IMAGE_STORE = "ImageStore"


class BackupStorageStatus(models.TextChoices):
    CONNECTED = "Connected"
    DISCONNECTED = "Disconnected"


class BackupStorageUnusable(CloudPortalError):
    status = 400
    code = "BACKUP_STORAGE_URL_UNUSABLE"


def check_directory(url):
    """Create ``url`` if missing and check the portal can write there; ``(total, available)`` bytes."""
    if not isinstance(url, str) or not url.startswith("/") or os.path.normpath(url) != url.rstrip("/"):
        raise BackupStorageUnusable(f"{url!r} is not a normalised absolute directory path", details={"url": url})
    try:
        os.makedirs(url, exist_ok=True)
    except OSError as exc:
        raise BackupStorageUnusable(f"cannot create {url}: {exc.strerror}", details={"url": url}) from None
    if not os.path.isdir(url):
        raise BackupStorageUnusable(f"{url} exists and is not a directory", details={"url": url})
    if not os.access(url, os.W_OK | os.X_OK):
        raise BackupStorageUnusable(f"{url} is not writable by the portal", details={"url": url})
    st = os.statvfs(url)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


class BackupStorage(Resource):
    type = models.CharField(max_length=32, choices=BackupStorageType.choices, default=BackupStorageType.IMAGE_STORE)
    url = models.CharField(max_length=1024)
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    status = models.CharField(max_length=16, choices=BackupStorageStatus.choices,
                              default=BackupStorageStatus.CONNECTED)
    total_capacity = models.BigIntegerField(default=0)
    available_capacity = models.BigIntegerField(default=0)
    zones = models.ManyToManyField("infra.Zone", related_name="backup_storages", blank=True)

    state_machine = ENABLE_STATE_MACHINE

    class Meta(Resource.Meta):
        verbose_name_plural = "backup storage"

    class Query:
        fields = ["uuid", "name", "description", "type", "url", "state", "status", "total_capacity",
                  "available_capacity", "zone_uuid", "created_at", "updated_at"]
        aliases = {"zone_uuid": "zones__uuid"}
        relations = ["zones"]

    # --- files ---------------------------------------------------------------------
    @property
    def root(self):
        return Path(self.url)

    def blob_path(self, sha256):
        return self.root / "images" / sha256[:2] / sha256

    def temp_dir(self):
        path = self.root / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- capacity --------------------------------------------------------------------
    def refresh_capacity(self):
        """Read the directory's filesystem figures (statvfs) into the row."""
        try:
            total, available = check_directory(self.url)
            status = BackupStorageStatus.CONNECTED
        except BackupStorageUnusable:
            total, available, status = self.total_capacity, self.available_capacity, BackupStorageStatus.DISCONNECTED
        BackupStorage.objects.filter(pk=self.pk).update(total_capacity=total, available_capacity=available)
        self.total_capacity, self.available_capacity = total, available
        if status != self.status:
            # saved, not updated: a status change is change-logged and published (alarms listen to it)
            self.status = status
            self.save(update_fields=["status", "updated_at"])
        return total, available

    def reserve(self, size):
        """Take ``size`` bytes of ``available_capacity`` in one conditional UPDATE; False if they do not fit."""
        return bool(BackupStorage.objects.filter(pk=self.pk, available_capacity__gte=size).update(
            available_capacity=F("available_capacity") - size))

    def release(self, size):
        BackupStorage.objects.filter(pk=self.pk).update(available_capacity=F("available_capacity") + size)

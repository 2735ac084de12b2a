"""Images: templates (qcow2/raw) and ISOs, stored on one or more backup storages by sha256.

``status`` follows ZStack: Downloading -> Ready; delete -> Deleted (recoverable), expunge removes the
bits (when no other image has the same hash) and the row. A failed add removes the row (ZStack
removes the ImageVO too); the job keeps the error code and message.
"""
from django.db import models

from apps.core.models import Resource, ResourceQuerySet, kept
from apps.core.states import StateMachine, EnableState


class ImageStatus(models.TextChoices):
    DOWNLOADING = "Downloading"
    READY = "Ready"
    DELETED = "Deleted"


class ImageMediaType(models.TextChoices):
    ROOT_VOLUME_TEMPLATE = "RootVolumeTemplate"
    DATA_VOLUME_TEMPLATE = "DataVolumeTemplate"
    ISO = "ISO"


class ImageFormat(models.TextChoices):
    QCOW2 = "qcow2"
    RAW = "raw"
    ISO = "iso"


class ImagePlatform(models.TextChoices):
    LINUX = "Linux"
    WINDOWS = "Windows"
    WINDOWS_VIRTIO = "WindowsVirtio"
    PARAVIRTUALIZATION = "Paravirtualization"
    OTHER = "Other"


IMAGE_STATUS_MACHINE = StateMachine("image", {
    (ImageStatus.DOWNLOADING, "ready"): ImageStatus.READY,
    (ImageStatus.READY, "delete"): ImageStatus.DELETED,
    (ImageStatus.DELETED, "delete"): ImageStatus.DELETED,
    (ImageStatus.DELETED, "recover"): ImageStatus.READY,
    (ImageStatus.READY, "recover"): ImageStatus.READY,
    (ImageStatus.DELETED, "expunge"): ImageStatus.DELETED,
}, actions={"delete": "delete", "recover": "recover", "expunge": "expunge"})


class ImageQuerySet(ResourceQuerySet):
    @kept(invalidated_by=["storage.Image"])
    def kept_by_uuid(self, uuid):
        """The image, as read up to a second ago (Image.DoesNotExist when there is none)."""
        return self.get(uuid=uuid)


class Image(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="images",
                                null=True, blank=True)
    url = models.CharField(max_length=2048, blank=True, default="")
    status = models.CharField(max_length=16, choices=ImageStatus.choices, default=ImageStatus.DOWNLOADING)
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    media_type = models.CharField(max_length=32, choices=ImageMediaType.choices,
                                  default=ImageMediaType.ROOT_VOLUME_TEMPLATE)
    format = models.CharField(max_length=16, choices=ImageFormat.choices, blank=True, default="")
    platform = models.CharField(max_length=32, choices=ImagePlatform.choices, default=ImagePlatform.LINUX)
    guest_os_type = models.CharField(max_length=64, blank=True, default="")
    size = models.BigIntegerField(default=0, help_text="virtual size in bytes")
    actual_size = models.BigIntegerField(default=0, help_text="bytes stored")
    sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    backup_storages = models.ManyToManyField("storage.BackupStorage", through="storage.ImageBackupStorageRef",
                                             related_name="images")

    public = models.BooleanField(default=False, help_text="every account may see it and create VMs from it")
    tenant_path = "account"
    shared_field = "public"  # apps.core.tenancy: readable by all, changed by its owner
    status_machine = IMAGE_STATUS_MACHINE

    objects = ImageQuerySet.as_manager()

    class Meta(Resource.Meta):
        indexes = [models.Index(fields=["account", "status", "created_at"], name="image_account_status")]

    class Query:
        fields = ["uuid", "name", "description", "url", "status", "state", "media_type", "format", "platform",
                  "guest_os_type", "size", "actual_size", "sha256", "public", "backup_storage_uuid", "created_at",
                  "updated_at"]
        aliases = {"backup_storage_uuid": "backup_storage_refs__backup_storage__uuid"}
        relations = ["backup_storages"]


class ImageBackupStorageRef(models.Model):
    """An image on a backup storage; ``install_path`` is the content-addressed file (shared by images
    with the same sha256 on the same backup storage)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="backup_storage_refs")
    backup_storage = models.ForeignKey("storage.BackupStorage", on_delete=models.PROTECT, related_name="image_refs")
    install_path = models.CharField(max_length=2048)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "backup_storage"], name="image_bs_unique")]

"""Volumes: a VM's disks. Root volumes are qcow2 overlays whose backing file is the image cache on
the same host's local primary storage."""
from django.db import models

from apps.core.models import Resource
from apps.core.states import EnableState


class VolumeType(models.TextChoices):
    ROOT = "Root"
    DATA = "Data"


class VolumeStatus(models.TextChoices):
    CREATING = "Creating"
    READY = "Ready"
    DELETED = "Deleted"
    # a data volume made without a primary storage: its file is made on the storage of the host of
    # the VM it is first attached to (ZStack's NotInstantiated)
    NOT_INSTANTIATED = "NotInstantiated"


class Volume(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="volumes",
                                null=True, blank=True)
    type = models.CharField(max_length=8, choices=VolumeType.choices, default=VolumeType.ROOT)
    status = models.CharField(max_length=16, choices=VolumeStatus.choices, default=VolumeStatus.CREATING)
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    size = models.BigIntegerField(default=0, help_text="virtual size in bytes")
    actual_size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=16, default="qcow2")
    install_path = models.CharField(max_length=2048, blank=True, default="")
    primary_storage = models.ForeignKey("storage.PrimaryStorage", on_delete=models.PROTECT,
                                        related_name="volumes", null=True, blank=True)
    host = models.ForeignKey("infra.Host", on_delete=models.PROTECT, related_name="volumes", null=True, blank=True)
    image = models.ForeignKey("storage.Image", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="volumes")
    image_sha256 = models.CharField(max_length=64, blank=True, default="",
                                    help_text="the image cache this volume is backed by")
    vm_instance_uuid = models.UUIDField(null=True, blank=True, db_index=True)
    # data volumes (apps/storage/flows/data_volumes.py, apps/compute/flows/volume_attach.py)
    disk_offering = models.ForeignKey("storage.DiskOffering", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="volumes")
    bus = models.CharField(max_length=8, choices=[("virtio", "virtio"), ("scsi", "scsi")], default="virtio",
                           help_text="how an attached data volume reaches the guest: virtio-blk or virtio-scsi")
    device_target = models.CharField(max_length=8, blank=True, default="",
                                     help_text="the guest device of an attached data volume (vdb, sda...)")
    deleted_at = models.DateTimeField(null=True, blank=True)
    # disk QoS (<iotune>): 0 means no limit
    iops_limit = models.PositiveIntegerField(default=0, help_text="total I/O operations per second")
    bandwidth_limit = models.BigIntegerField(default=0, help_text="total bytes per second")

    tenant_path = "account"

    class Query:
        fields = ["uuid", "name", "description", "type", "status", "state", "size", "actual_size", "format",
                  "install_path", "primary_storage_uuid", "host_uuid", "image_uuid", "vm_instance_uuid",
                  "created_at", "updated_at", "disk_offering_uuid", "bus", "device_target", "deleted_at", "iops_limit",
                  "bandwidth_limit"]
        aliases = {"primary_storage_uuid": "primary_storage__uuid", "host_uuid": "host__uuid",
                   "image_uuid": "image__uuid", "disk_offering_uuid": "disk_offering__uuid"}
        relations = ["primary_storage", "host", "image", "disk_offering"]

    # an account creates, attaches and deletes its own data volumes
    admin_only_writes = False

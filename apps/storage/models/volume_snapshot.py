"""Volume snapshots: external, incremental qcow2 chains.

A snapshot is a file that is no longer written: when it was taken, the volume's top file became the
snapshot's ``install_path`` and a new overlay on it the volume's. Snapshots form a tree per volume
(``parent``): reverting to a snapshot and writing makes a branch. ``latest`` marks the snapshot the
volume's current file is an overlay of (the point a new snapshot hangs under). A VM snapshot takes
every volume of the VM at once and groups the snapshots (``VolumeSnapshotGroup``).
"""
from django.db import models

from apps.core.models import Resource


class VolumeSnapshotStatus(models.TextChoices):
    CREATING = "Creating"
    READY = "Ready"
    DELETING = "Deleting"


class VolumeSnapshotGroup(Resource):
    """The snapshots of a VM's volumes taken together (one atomic call for a running VM)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="volume_snapshot_groups",
                                null=True, blank=True)
    vm_instance_uuid = models.UUIDField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=VolumeSnapshotStatus.choices,
                              default=VolumeSnapshotStatus.CREATING)

    tenant_path = "account"

    class Query:
        fields = ["uuid", "name", "description", "vm_instance_uuid", "status", "created_at", "updated_at"]


class VolumeSnapshot(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="volume_snapshots",
                                null=True, blank=True)
    volume = models.ForeignKey("storage.Volume", on_delete=models.CASCADE, related_name="snapshots")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    group = models.ForeignKey(VolumeSnapshotGroup, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="snapshots")
    install_path = models.CharField(max_length=2048, blank=True, default="")
    format = models.CharField(max_length=16, default="qcow2")
    size = models.BigIntegerField(default=0, help_text="the volume's virtual size in bytes when taken")
    actual_size = models.BigIntegerField(default=0, help_text="bytes of the snapshot's own file")
    status = models.CharField(max_length=16, choices=VolumeSnapshotStatus.choices,
                              default=VolumeSnapshotStatus.CREATING)
    state = models.CharField(max_length=16, default="Enabled")
    latest = models.BooleanField(default=False, help_text="the volume's current file is an overlay of this one")
    live = models.BooleanField(default=False, help_text="taken while the VM ran")

    tenant_path = "account"

    class Query:
        fields = ["uuid", "name", "description", "volume_uuid", "parent_uuid", "group_uuid", "status", "state",
                  "size", "actual_size", "latest", "live", "created_at", "updated_at"]
        aliases = {"volume_uuid": "volume__uuid", "parent_uuid": "parent__uuid", "group_uuid": "group__uuid"}
        relations = ["volume", "parent", "group"]

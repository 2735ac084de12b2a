"""API shapes of volume snapshots and VM snapshot groups."""
from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import ResourceSerializer

from .models import Volume, VolumeSnapshot, VolumeSnapshotGroup


class VolumeSnapshotSerializer(ResourceSerializer):
    volume_uuid = serializers.SerializerMethodField()
    parent_uuid = serializers.SerializerMethodField()
    group_uuid = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = VolumeSnapshot
        fields = ResourceSerializer.Meta.fields + [
            "volume_uuid", "parent_uuid", "group_uuid", "status", "state", "size", "actual_size", "format",
            "latest", "live", "install_path"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + [
            "status", "state", "size", "actual_size", "format", "latest", "live", "install_path"]
        admin_only_fields = ["install_path"]  # a file on the host

    def get_volume_uuid(self, obj) -> str:
        return str(obj.volume.uuid)

    def get_parent_uuid(self, obj) -> str | None:
        return str(obj.parent.uuid) if obj.parent_id else None

    def get_group_uuid(self, obj) -> str | None:
        return str(obj.group.uuid) if obj.group_id else None


class VolumeSnapshotCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    volume_uuid = UuidRelatedField(queryset=Volume.objects.all(), help_text="the volume to snapshot")


class VolumeSnapshotGroupSerializer(ResourceSerializer):
    snapshot_uuids = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = VolumeSnapshotGroup
        fields = ResourceSerializer.Meta.fields + ["vm_instance_uuid", "status", "snapshot_uuids"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["vm_instance_uuid", "status"]

    def get_snapshot_uuids(self, obj) -> list[str]:
        return [str(u) for u in obj.snapshots.values_list("uuid", flat=True)]


class VolumeSnapshotGroupCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    vm_instance_uuid = serializers.UUIDField(help_text="every Ready volume of this VM is snapshotted at once")

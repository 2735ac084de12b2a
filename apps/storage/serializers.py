from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import ResourceSerializer
from apps.core.tenancy import is_admin
from apps.infra.models import Cluster, Zone

from .models import (BackupStorage, BackupStorageType, Image, ImageFormat, ImageMediaType, ImagePlatform,
                     PrimaryStorage, PrimaryStorageType, Volume)
from .models.backup_storage import check_directory


class BackupStorageSerializer(ResourceSerializer):
    type = serializers.ChoiceField(choices=BackupStorageType.choices, default=BackupStorageType.IMAGE_STORE)
    url = serializers.CharField(max_length=1024, help_text="a directory on the portal machine (created if missing)")
    zone_uuids = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = BackupStorage
        fields = ResourceSerializer.Meta.fields + ["type", "url", "state", "status", "total_capacity",
                                                   "available_capacity", "zone_uuids"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + [
            "state", "status", "total_capacity", "available_capacity"]
        admin_only_fields = ["url"]  # a directory on the portal machine

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["type"].read_only = True
            fields["url"].read_only = True
        return fields

    def get_zone_uuids(self, obj) -> list[str]:
        return [str(z.uuid) for z in obj.zones.all()]

    def validate_url(self, value):
        self._capacity = check_directory(value.rstrip("/") or value)
        return value.rstrip("/") or value

    def create(self, validated_data):
        total, available = getattr(self, "_capacity", (0, 0))
        return super().create({**validated_data, "total_capacity": total, "available_capacity": available})


class BackupStorageZoneSerializer(serializers.Serializer):
    zone_uuid = UuidRelatedField(queryset=Zone.objects.all())


class PrimaryStorageClusterSerializer(serializers.Serializer):
    cluster_uuid = UuidRelatedField(queryset=Cluster.objects.all())


class ImageSerializer(ResourceSerializer):
    url = serializers.CharField(max_length=2048, help_text="http, https or file URL of the image")
    backup_storage_uuids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, write_only=True)
    platform = serializers.ChoiceField(choices=ImagePlatform.choices, default=ImagePlatform.LINUX)
    format = serializers.ChoiceField(choices=ImageFormat.choices, required=False,
                                     help_text="optional: checked against the detected format")
    media_type = serializers.ChoiceField(choices=ImageMediaType.choices, required=False)
    backup_storage_refs = serializers.SerializerMethodField()
    account_uuid = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = Image
        fields = ResourceSerializer.Meta.fields + [
            "url", "backup_storage_uuids", "status", "state", "media_type", "format", "platform", "guest_os_type",
            "size", "actual_size", "sha256", "backup_storage_refs", "account_uuid", "public"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + [
            "status", "state", "size", "actual_size", "sha256"]
        # where the portal fetched it from (a file on the portal for uploads) and where it keeps it
        admin_only_fields = ["url", "backup_storage_refs"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            for name in ("url", "backup_storage_uuids", "format", "media_type"):
                fields[name].read_only = True
        return fields

    def validate_public(self, value):
        request = self.context.get("request")
        if value and not (request and is_admin(request.user)):
            raise serializers.ValidationError("only an admin account may make an image public")
        return value

    def get_backup_storage_refs(self, obj) -> list[dict]:
        return [{"backup_storage_uuid": str(ref.backup_storage.uuid), "install_path": ref.install_path}
                for ref in obj.backup_storage_refs.select_related("backup_storage")]

    def get_account_uuid(self, obj) -> str | None:
        return str(obj.account.uuid) if obj.account_id else None

    def validate_backup_storage_uuids(self, value):
        value = list(dict.fromkeys(str(v) for v in value))
        found = {str(bs.uuid): bs for bs in BackupStorage.objects.filter(uuid__in=value)}
        missing = [v for v in value if v not in found]
        if missing:
            raise serializers.ValidationError(f"backup storage {missing[0]} not found.")
        off = [bs.name for bs in found.values() if bs.state != "Enabled" or bs.status != "Connected"]
        if off:
            raise serializers.ValidationError(f"backup storage {off[0]} is disabled or disconnected.")
        return value


class ImageUploadSerializer(ImageSerializer):
    url = serializers.CharField(required=False, read_only=True)
    file = serializers.FileField(write_only=True)

    class Meta(ImageSerializer.Meta):
        fields = ImageSerializer.Meta.fields + ["file"]


class PrimaryStorageSerializer(ResourceSerializer):
    type = serializers.ChoiceField(choices=PrimaryStorageType.choices, default=PrimaryStorageType.LOCAL_STORAGE)
    zone_uuid = UuidRelatedField(source="zone", queryset=Zone.objects.all())
    cluster_uuids = serializers.SerializerMethodField()
    total_capacity = serializers.SerializerMethodField()
    available_capacity = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = PrimaryStorage
        fields = ResourceSerializer.Meta.fields + ["type", "url", "zone_uuid", "state", "cluster_uuids",
                                                   "total_capacity", "available_capacity"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]
        admin_only_fields = ["url"]  # a directory on the hosts

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            for name in ("type", "url", "zone_uuid"):
                fields[name].read_only = True
        return fields

    def validate_url(self, value):
        import os

        if not value.startswith("/") or os.path.normpath(value) != value.rstrip("/"):
            raise serializers.ValidationError("give a normalised absolute directory path (on every host).")
        return value.rstrip("/")

    def get_cluster_uuids(self, obj) -> list[str]:
        return [str(c.uuid) for c in obj.clusters.all()]

    def _refs(self, obj):
        return list(obj.host_refs.all())

    def get_total_capacity(self, obj) -> int:
        return sum(r.total_capacity for r in self._refs(obj))

    def get_available_capacity(self, obj) -> int:
        return sum(r.available_capacity for r in self._refs(obj))


class VolumeSerializer(ResourceSerializer):
    primary_storage_uuid = serializers.SerializerMethodField()
    host_uuid = serializers.SerializerMethodField()
    image_uuid = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = Volume
        fields = ResourceSerializer.Meta.fields + [
            "type", "status", "state", "size", "actual_size", "format", "install_path", "primary_storage_uuid",
            "host_uuid", "image_uuid", "vm_instance_uuid",
            "iops_limit", "bandwidth_limit"]   # QoS: set through the VM's set-qos action
        read_only_fields = fields
        admin_only_fields = ["install_path"]  # a file on the host

    def get_primary_storage_uuid(self, obj) -> str:
        return str(obj.primary_storage.uuid)

    def get_host_uuid(self, obj) -> str | None:
        return str(obj.host.uuid) if obj.host_id else None

    def get_image_uuid(self, obj) -> str | None:
        return str(obj.image.uuid) if obj.image_id else None

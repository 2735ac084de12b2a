from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import ResourceSerializer, column_range
from apps.core.tenancy import is_admin
from apps.infra.models import Cluster, Host, Zone

from .models import DiskOffering  # noqa: E402  (data volumes)
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
    url = serializers.CharField(max_length=1024, help_text=_(
        "LocalStorage: a directory on each host; SharedMountPoint: the directory every host mounts at the "
        "same path; NFS: nfs://server/export or server:/export"))
    zone_uuid = UuidRelatedField(source="zone", queryset=Zone.objects.all())
    cluster_uuids = serializers.SerializerMethodField()
    total_capacity = serializers.SerializerMethodField()
    available_capacity = serializers.SerializerMethodField()
    used_capacity = serializers.SerializerMethodField()
    available_physical_capacity = serializers.SerializerMethodField()
    over_provisioning_ratio = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = PrimaryStorage
        fields = ResourceSerializer.Meta.fields + ["type", "url", "zone_uuid", "state", "cluster_uuids",
                                                   "total_capacity", "available_capacity", "used_capacity",
                                                   "available_physical_capacity", "over_provisioning_ratio",
                                                   "mount_path"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state", "mount_path"]
        admin_only_fields = ["url", "mount_path"]  # a directory on the hosts, an NFS export

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            for name in ("type", "url", "zone_uuid"):
                fields[name].read_only = True
        return fields

    def validate_url(self, value):
        import os

        if self.initial_data.get("type") == PrimaryStorageType.NFS:
            return value.strip()   # checked in validate (the type may be defaulted)
        if not value.startswith("/") or os.path.normpath(value) != value.rstrip("/"):
            raise serializers.ValidationError("give a normalised absolute directory path (on every host).")
        return value.rstrip("/")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        shared_kinds = (PrimaryStorageType.NFS, PrimaryStorageType.SHARED_MOUNT_POINT)
        if self.instance is None and attrs.get("type") in shared_kinds:
            import uuid as uuid_lib

            from apps.core.errors import InvalidArgument

            from .shared import nfs_mount_path, nfs_source

            if attrs["type"] == PrimaryStorageType.NFS:
                try:
                    nfs_source(attrs.get("url"))
                except InvalidArgument as exc:
                    raise serializers.ValidationError({"url": [exc.message]}) from None
                # the mount point is named for the storage's uuid, fixed now
                attrs["uuid"] = uuid_lib.uuid4()
                attrs["mount_path"] = nfs_mount_path(attrs["uuid"])
            else:
                attrs["mount_path"] = attrs["url"]
        return attrs

    def get_cluster_uuids(self, obj) -> list[str]:
        return [str(c.uuid) for c in obj.clusters.all()]

    def _refs(self, obj):
        return list(obj.host_refs.all())

    def get_total_capacity(self, obj) -> int:
        if obj.is_shared:
            return obj.total_capacity
        return sum(r.total_capacity for r in self._refs(obj))

    def get_available_capacity(self, obj) -> int:
        """Bytes still offered: for shared storage, total × over-provisioning ratio − used."""
        if obj.is_shared:
            from .space import available

            return available(obj)
        return sum(r.available_capacity for r in self._refs(obj))

    def get_used_capacity(self, obj) -> int:
        if obj.is_shared:
            return obj.used_capacity
        return sum(r.used_capacity for r in self._refs(obj))

    def get_available_physical_capacity(self, obj) -> int:
        if obj.is_shared:
            return obj.available_physical_capacity
        return sum(r.available_physical_capacity for r in self._refs(obj))

    def get_over_provisioning_ratio(self, obj) -> float | None:
        """Shared kinds only (local storage is not over-provisioned)."""
        if not obj.is_shared:
            return None
        from .space import ratio

        return ratio(obj)


class VolumeSerializer(ResourceSerializer):
    primary_storage_uuid = serializers.SerializerMethodField()
    host_uuid = serializers.SerializerMethodField()
    image_uuid = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = Volume
        fields = ResourceSerializer.Meta.fields + [
            "type", "status", "state", "size", "actual_size", "format", "install_path", "primary_storage_uuid",
            "host_uuid", "image_uuid", "vm_instance_uuid", "disk_offering_uuid", "bus", "device_target",
            "deleted_at", "iops_limit", "bandwidth_limit"]   # QoS: set through the VM's set-qos action
        read_only_fields = fields
        admin_only_fields = ["install_path"]  # a file on the host

    def get_primary_storage_uuid(self, obj) -> str | None:
        return str(obj.primary_storage.uuid) if obj.primary_storage_id else None

    def get_host_uuid(self, obj) -> str | None:
        return str(obj.host.uuid) if obj.host_id else None

    def get_image_uuid(self, obj) -> str | None:
        return str(obj.image.uuid) if obj.image_id else None

    disk_offering_uuid = serializers.SerializerMethodField()

    def get_disk_offering_uuid(self, obj) -> str | None:
        return str(obj.disk_offering.uuid) if obj.disk_offering_id else None


# --- data volumes and disk offerings (apps/storage/data_volumes.py) ----------------------------
class DiskOfferingSerializer(ResourceSerializer):
    disk_size = serializers.IntegerField(min_value=1, help_text="bytes")

    class Meta(ResourceSerializer.Meta):
        model = DiskOffering
        fields = ResourceSerializer.Meta.fields + ["disk_size", "state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]


class VolumeCreateSerializer(VolumeSerializer):
    """A data volume: of an offering's size or of ``size`` bytes. Without ``primary_storage_uuid``
    it is NotInstantiated until first attached (made on the storage of the VM's host); with it
    (and ``host_uuid`` for local storage) it is made at once."""

    disk_offering_uuid = UuidRelatedField(source="disk_offering", queryset=DiskOffering.objects.all(),
                                          required=False, allow_null=True)
    size = serializers.IntegerField(min_value=1, required=False, help_text="bytes (when no disk offering)")
    primary_storage_uuid = UuidRelatedField(source="primary_storage", queryset=PrimaryStorage.objects.all(),
                                            required=False, allow_null=True)
    host_uuid = UuidRelatedField(source="host", queryset=Host.objects.all(), required=False, allow_null=True)
    bus = serializers.ChoiceField(choices=["virtio", "scsi"], default="virtio")

    class Meta(VolumeSerializer.Meta):
        read_only_fields = [f for f in VolumeSerializer.Meta.fields if f not in (
            "name", "description", "disk_offering_uuid", "size", "primary_storage_uuid", "host_uuid", "bus")]

    def validate(self, data):
        offering = data.get("disk_offering")
        if offering is None and not data.get("size"):
            raise serializers.ValidationError({"size": ["give size (bytes) or disk_offering_uuid"]})
        if offering is not None:
            if offering.state != "Enabled":
                raise serializers.ValidationError({"disk_offering_uuid": [f"disk offering {offering.name} is Disabled"]})
            if data.get("size") and data["size"] != offering.disk_size:
                raise serializers.ValidationError({"size": ["give size or disk_offering_uuid, not both"]})
            data["size"] = offering.disk_size
        ps, host = data.get("primary_storage"), data.get("host")
        if host is not None and ps is None:
            raise serializers.ValidationError({"host_uuid": ["host_uuid goes with primary_storage_uuid"]})
        if ps is not None:
            request = self.context.get("request")
            if request is not None and not is_admin(request.user):
                raise serializers.ValidationError({"primary_storage_uuid": [
                    "only an admin account places a volume on a primary storage"]})
            if ps.type == PrimaryStorageType.LOCAL_STORAGE and host is None:
                raise serializers.ValidationError({"host_uuid": [
                    f"primary storage {ps.name} is local storage: say on which host (host_uuid)"]})
        return data


class VolumeAttachSerializer(serializers.Serializer):
    vm_instance_uuid = serializers.UUIDField()


class VolumeResizeSerializer(serializers.Serializer):
    size = serializers.IntegerField(min_value=1, max_value=column_range(Volume._meta.get_field("size"))[1],
                                    help_text="the new size in bytes (larger than now)")

    class Meta:
        model = Volume   # the column its size fills (the column-limit test reads it)

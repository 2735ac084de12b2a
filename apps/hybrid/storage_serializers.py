"""The shapes of the hybrid cloud's storage API: OSS buckets (H10), ECS images and the upload of a
local image (H5), ECS data disks and their actions (H6). Sizes are bytes, as everywhere in the
portal; the cloud's GiB are converted where a call is made."""
import re

from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import BuiltOnceFieldsMixin, ResourceSerializer
from apps.storage.models import Image, ImageFormat, ImageStatus

from .models import AlibabaDataCenter, AlibabaIdentityZone, BucketState, EcsDisk, EcsImage, EcsInstance, OssBucket
from .models.storage import GIB
from .serializers import CHARGE_TYPES, DISK_CATEGORIES


class _MirroredSerializer(ResourceSerializer):
    """What every mirrored storage row shows of its data centre."""

    data_center_uuid = serializers.UUIDField(source="data_center.uuid", read_only=True)
    region_id = serializers.CharField(source="data_center.region_id", read_only=True)
    time_zone = serializers.CharField(source="data_center.time_zone", read_only=True,
                                      help_text="the data centre's: how its times are shown")
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)

    MIRRORED = ["data_center_uuid", "region_id", "time_zone", "account_uuid", "remote_created_at"]


# --- OSS buckets (H10) -----------------------------------------------------------------------------
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class OssBucketSerializer(_MirroredSerializer):
    class Meta(ResourceSerializer.Meta):
        model = OssBucket
        fields = ResourceSerializer.Meta.fields + [
            "bucket_name", "state", "location", "storage_class", "acl", "data_redundancy_type", "extranet_endpoint",
            "intranet_endpoint", *_MirroredSerializer.MIRRORED]
        # PATCH changes the description here only: the rest is the cloud's
        read_only_fields = [f for f in fields if f != "description"]


class OssBucketCreateSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    """``POST /oss-buckets/``: a bucket made in the data centre's region (202 + job)."""

    bucket_name = serializers.CharField(help_text="3-63 lower-case letters, digits and hyphens; global across "
                                                  "Alibaba Cloud")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=256)
    data_center_uuid = UuidRelatedField(source="data_center", queryset=AlibabaDataCenter.objects.all())
    acl = serializers.ChoiceField(choices=["private", "public-read", "public-read-write"], default="private")
    storage_class = serializers.ChoiceField(choices=["Standard", "IA", "Archive", "ColdArchive"], default="Standard")
    data_redundancy_type = serializers.ChoiceField(choices=["LRS", "ZRS"], default="LRS",
                                                   help_text="LRS: one zone; ZRS: three zones of the region")

    class Meta:
        model = OssBucket

    def validate_bucket_name(self, value):
        if not BUCKET_NAME.match(value):
            raise serializers.ValidationError("3 to 63 lower-case letters, digits and hyphens, starting and ending "
                                              "with a letter or a digit")
        return value

    def validate(self, data):
        if OssBucket.objects.filter(data_center=data["data_center"], bucket_name=data["bucket_name"]).exists():
            raise serializers.ValidationError({"bucket_name": ["the data centre has this bucket already"]})
        return data


class OssObjectSerializer(serializers.Serializer):
    key = serializers.CharField()
    size = serializers.IntegerField(read_only=True, help_text="bytes")
    last_modified = serializers.DateTimeField()
    etag = serializers.CharField()
    storage_class = serializers.CharField()


class OssObjectPageSerializer(serializers.Serializer):
    objects = OssObjectSerializer(many=True)
    prefixes = serializers.ListField(child=serializers.CharField(), help_text="the common prefixes (with delimiter)")
    next_marker = serializers.CharField(help_text="give it as ?marker= for the next page ('' at the end)")
    truncated = serializers.BooleanField()


class OssObjectQuery(serializers.Serializer):
    prefix = serializers.CharField(required=False, allow_blank=True, default="")
    delimiter = serializers.CharField(required=False, allow_blank=True, default="", max_length=1,
                                      help_text="'/' lists one level, as folders")
    marker = serializers.CharField(required=False, allow_blank=True, default="")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)


class OssBucketInfoSerializer(serializers.Serializer):
    acl = serializers.CharField()
    storage_class = serializers.CharField()
    data_redundancy_type = serializers.CharField()
    location = serializers.CharField()
    extranet_endpoint = serializers.CharField()
    intranet_endpoint = serializers.CharField()
    # answers of the cloud, never written
    object_count = serializers.IntegerField(read_only=True)
    storage_size = serializers.IntegerField(read_only=True, help_text="bytes")
    multipart_upload_count = serializers.IntegerField(read_only=True)


# --- ECS images (H5) ---------------------------------------------------------------------------------
class EcsImageSerializer(_MirroredSerializer):
    local_image_uuid = serializers.UUIDField(source="local_image.uuid", read_only=True, allow_null=True, default=None)
    oss_bucket_uuid = serializers.UUIDField(source="oss_bucket.uuid", read_only=True, allow_null=True, default=None)

    class Meta(ResourceSerializer.Meta):
        model = EcsImage
        fields = ResourceSerializer.Meta.fields + [
            "image_id", "state", "owner_alias", "os_type", "os_name", "platform", "architecture", "image_family",
            "size", "progress", "local_image_uuid", "oss_bucket_uuid", "oss_object", *_MirroredSerializer.MIRRORED]
        read_only_fields = [f for f in fields if f != "description"]


class EcsImageUploadSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    """``POST /ecs-images/``: a local image (qcow2 or raw, Ready) uploaded through an OSS bucket of
    the data centre and imported as a custom image there (202 + job)."""

    name = serializers.CharField(max_length=128, help_text="the image's name in the cloud (2-128 characters)")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=256)
    local_image_uuid = UuidRelatedField(source="local_image", queryset=Image.objects.all())
    oss_bucket_uuid = UuidRelatedField(source="oss_bucket", queryset=OssBucket.objects.all(),
                                       help_text="a bucket of the data centre the image is made in")
    os_type = serializers.ChoiceField(choices=["linux", "windows"], required=False,
                                      help_text="default: the local image's platform")
    platform = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                     help_text="Aliyun, CentOS, Ubuntu, Debian, Windows Server 2022... "
                                               "(default: Others Linux, or Windows Server 2022)")
    architecture = serializers.ChoiceField(choices=["x86_64", "arm64", "i386"], default="x86_64")
    keep_oss_object = serializers.BooleanField(default=False, help_text="keep the uploaded file in the bucket "
                                                                        "once the image is made")

    class Meta:
        model = EcsImage

    def validate(self, data):
        local, bucket = data["local_image"], data["oss_bucket"]
        errors = {}
        if local.status != ImageStatus.READY or local.format not in (ImageFormat.QCOW2, ImageFormat.RAW):
            errors["local_image_uuid"] = [f"the image is {local.status} {local.format or 'of no format'}: a Ready "
                                          "qcow2 or raw image is imported"]
        if bucket.state != BucketState.AVAILABLE:
            errors["oss_bucket_uuid"] = [f"the bucket is {bucket.state}"]
        if errors:
            raise serializers.ValidationError(errors)
        if "os_type" not in data:
            data["os_type"] = "windows" if local.platform.startswith("Windows") else "linux"
        return data


def import_params(data):
    """ImportImage's parameters (the cloud's names) for a validated upload; the disk mapping is the flow's."""
    platform = data.get("platform") or ("Windows Server 2022" if data["os_type"] == "windows" else "Others Linux")
    return {"ImageName": data["name"], "Description": data.get("description", ""), "OSType": data["os_type"],
            "Platform": platform, "Architecture": data["architecture"]}


# --- ECS data disks (H6) -----------------------------------------------------------------------------


class EcsDiskSerializer(_MirroredSerializer):
    identity_zone_uuid = serializers.UUIDField(source="identity_zone.uuid", read_only=True, allow_null=True,
                                               default=None)
    zone_id = serializers.CharField(source="identity_zone.zone_id", read_only=True, allow_null=True, default=None)
    ecs_instance_uuid = serializers.UUIDField(source="ecs_instance.uuid", read_only=True, allow_null=True,
                                              default=None)

    class Meta(ResourceSerializer.Meta):
        model = EcsDisk
        fields = ResourceSerializer.Meta.fields + [
            "disk_id", "state", "disk_type", "category", "performance_level", "size", "disk_charge_type",
            "instance_id", "ecs_instance_uuid", "device", "portable", "delete_with_instance", "identity_zone_uuid",
            "zone_id", *_MirroredSerializer.MIRRORED]
        read_only_fields = [f for f in fields if f != "description"]


class EcsDiskCreateSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    """``POST /ecs-disks/``: a data disk in a zone, pay-as-you-go; or a subscription (PrePaid) one,
    made attached to a subscription instance (202 + job)."""

    name = serializers.CharField(max_length=128)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=256)
    identity_zone_uuid = UuidRelatedField(source="identity_zone", queryset=AlibabaIdentityZone.objects.all(),
                                          required=False, allow_null=True, default=None,
                                          help_text="where a pay-as-you-go disk is made")
    size = serializers.IntegerField(min_value=GIB, help_text="bytes, whole GiB")
    category = serializers.ChoiceField(choices=DISK_CATEGORIES, default="cloud_essd")
    performance_level = serializers.ChoiceField(choices=["", "PL0", "PL1", "PL2", "PL3"], default="",
                                                help_text="ESSD only (default PL1)")
    disk_charge_type = serializers.ChoiceField(choices=CHARGE_TYPES, default="PostPaid")
    ecs_instance_uuid = UuidRelatedField(source="ecs_instance", queryset=EcsInstance.objects.all(), required=False,
                                         allow_null=True, default=None,
                                         help_text="PrePaid: the subscription instance the disk is made for")

    class Meta:
        model = EcsDisk

    def validate(self, data):
        if data["size"] % GIB:
            raise serializers.ValidationError({"size": ["a whole number of GiB"]})
        if data["disk_charge_type"] == "PrePaid":
            instance = data.get("ecs_instance")
            if instance is None or instance.instance_charge_type != "PrePaid" or not instance.instance_id:
                raise serializers.ValidationError({"ecs_instance_uuid": [
                    "a subscription disk is made for a subscription (PrePaid) instance: name one"]})
            data["identity_zone"] = instance.identity_zone
            data["data_center"] = instance.data_center
        else:
            zone = data.get("identity_zone")
            if zone is None:
                raise serializers.ValidationError({"identity_zone_uuid": ["the zone the disk is made in"]})
            if zone.state != "Available":
                raise serializers.ValidationError({"identity_zone_uuid": [f"zone {zone.zone_id} is {zone.state}"]})
            data["data_center"] = zone.data_center
        return data


def create_disk_params(data):
    """CreateDisk's parameters (the cloud's names) for a validated create."""
    params = {"DiskName": data["name"], "Description": data.get("description") or "", "Size": data["size"] // GIB,
              "DiskCategory": data["category"]}
    if not params["Description"]:
        del params["Description"]   # the cloud wants 2 characters at least when one is given
    if data.get("performance_level") and data["category"] == "cloud_essd":
        params["PerformanceLevel"] = data["performance_level"]
    if data["disk_charge_type"] == "PrePaid":
        params["InstanceId"] = data["ecs_instance"].instance_id
    else:
        params["ZoneId"] = data["identity_zone"].zone_id
    return params


class AttachBody(serializers.Serializer):
    ecs_instance_uuid = UuidRelatedField(source="ecs_instance", queryset=EcsInstance.objects.all(),
                                         help_text="an instance of the disk's zone, Running or Stopped")
    delete_with_instance = serializers.BooleanField(default=False, help_text="the disk goes when the instance does")


class DiskRenameBody(serializers.Serializer):
    name = serializers.CharField(min_length=2, max_length=128)


class DiskChargeTypeBody(serializers.Serializer):
    disk_charge_type = serializers.ChoiceField(choices=CHARGE_TYPES,
                                               help_text="the disk must be attached to a subscription instance")

"""The hybrid API's shapes: AccessKeys (the secret is taken, never shown), data centres, identity
zones, ECS instances, and the bodies of the ECS actions. Passwords an action sends to the cloud
are encrypted as soon as they are validated: they travel in the job's arguments, which are kept."""
import re
import zoneinfo

from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import BuiltOnceFieldsMixin, ResourceSerializer
from apps.core.errors import Conflict
from apps.core.secrets import encrypt

from .cloud import Cloud
from .models import AlibabaAccessKey, AlibabaDataCenter, AlibabaIdentityZone, EcsInstance
from .models import AlibabaSecurityGroup, AlibabaVSwitch, EcsImage
from .network_serializers import apply_network_choices
from .regions import default_time_zone


def regions_of(cloud):
    """The regions the cloud offers this key: [{"region_id", "local_name", "endpoint"}]."""
    body = cloud.ecs("DescribeRegions", {})
    return [{"region_id": r.get("RegionId"), "local_name": r.get("LocalName") or "",
             "endpoint": r.get("RegionEndpoint") or ""} for r in (body.get("Regions") or {}).get("Region") or []]


def zones_of(cloud):
    body = cloud.ecs("DescribeZones", {})
    return [{"zone_id": z.get("ZoneId"), "local_name": z.get("LocalName") or "",
             "available_instance_types": (z.get("AvailableInstanceTypes") or {}).get("InstanceTypes") or []}
            for z in (body.get("Zones") or {}).get("Zone") or []]


# --- AccessKeys (H1) -------------------------------------------------------------------------
class AccessKeySerializer(ResourceSerializer):
    """An AccessKey of the account. Adding one asks the cloud for its regions with it: a key the
    cloud refuses is not kept (400 ALIBABA_AUTH_FAILED, the cloud's code in details)."""

    access_key_secret = serializers.CharField(write_only=True, max_length=256, trim_whitespace=True,
                                              style={"input_type": "password"})
    is_default = serializers.BooleanField(required=False, default=False,
                                          help_text="the account's default key (the first key added is)")
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)

    class Meta(ResourceSerializer.Meta):
        model = AlibabaAccessKey
        fields = ResourceSerializer.Meta.fields + ["access_key_id", "access_key_secret", "is_default", "account_uuid"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:   # a key is replaced by adding another, not edited
            fields["access_key_id"].read_only = True
            fields["access_key_secret"].read_only = True
            fields["is_default"].read_only = True   # POST .../set-default/
        return fields

    def validate(self, data):
        if self.instance is None:
            request = self.context.get("request")
            account = getattr(getattr(request, "user", None), "account", None)
            if account is not None and AlibabaAccessKey.objects.filter(
                    account=account, access_key_id=data["access_key_id"]).exists():
                raise Conflict(f"this account has AccessKey {data['access_key_id']} already",
                               code="ALIBABA_KEY_EXISTS", details={"access_key_id": data["access_key_id"]})
            # the real call: DescribeRegions answers only a key the cloud knows, signed with its secret
            regions_of(Cloud(data["access_key_id"], "cn-hangzhou", data["access_key_secret"]))
        return data


class CloudRegionSerializer(serializers.Serializer):
    region_id = serializers.CharField()
    local_name = serializers.CharField()
    endpoint = serializers.CharField()


class CloudZoneSerializer(serializers.Serializer):
    zone_id = serializers.CharField()
    local_name = serializers.CharField()
    available_instance_types = serializers.ListField(child=serializers.CharField())


# --- data centres and identity zones (H2, H11) ---------------------------------------------------
def check_time_zone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise serializers.ValidationError(f"'{value}' is not a time zone (an IANA name: Asia/Shanghai, UTC)") from None
    return value


class DataCenterSerializer(ResourceSerializer):
    """A data centre as the API shows it; PATCH may move it to another key of its account (a key
    being replaced), change its time zone, name and description."""

    access_key_uuid = UuidRelatedField(source="access_key", queryset=AlibabaAccessKey.objects.all(), required=False)
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)
    time_zone = serializers.CharField(max_length=64, validators=[check_time_zone])
    last_synced_at = serializers.DateTimeField(read_only=True, default=None,
                                               help_text="when its last sync ended (succeeded or not)")

    class Meta(ResourceSerializer.Meta):
        model = AlibabaDataCenter
        fields = ResourceSerializer.Meta.fields + ["region_id", "local_name", "time_zone", "access_key_uuid",
                                                   "account_uuid", "last_synced_at"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["region_id", "local_name"]
        reads = {"last_synced_at": ()}   # annotated by the viewset

    def validate(self, data):
        key = data.get("access_key")
        if self.instance is not None and key is not None and key.pk != self.instance.access_key_id:
            if key.account_id != self.instance.account_id:
                raise serializers.ValidationError({"access_key_uuid": ["a key of the data centre's own account"]})
            if AlibabaDataCenter.objects.filter(access_key=key, region_id=self.instance.region_id).exists():
                raise Conflict(f"region {self.instance.region_id} is a data centre of that AccessKey already",
                               code="ALIBABA_DATA_CENTER_EXISTS", details={"region_id": self.instance.region_id})
        return data


class DataCenterCreateSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    """``POST /alibaba-data-centers/``: a region of the cloud seen through one of the account's
    keys (its default when none is named). The region is checked with the cloud."""

    name = serializers.CharField(max_length=255, required=False, help_text="default: the region's local name")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    region_id = serializers.CharField(max_length=64)
    access_key_uuid = UuidRelatedField(source="access_key", required=False, queryset=AlibabaAccessKey.objects.all())
    time_zone = serializers.CharField(max_length=64, required=False, validators=[check_time_zone],
                                      help_text="an IANA name; default: where the region is (UTC when unknown)")

    class Meta:
        model = AlibabaDataCenter

    def validate(self, data):
        request = self.context.get("request")
        key = data.get("access_key")
        if key is None:
            key = AlibabaAccessKey.objects.filter(account=request.user.account, is_default=True).first()
            if key is None:
                raise serializers.ValidationError({"access_key_uuid": ["the account has no default AccessKey: "
                                                                       "add one, or name one here"]})
            data["access_key"] = key
        if AlibabaDataCenter.objects.filter(access_key=key, region_id=data["region_id"]).exists():
            raise Conflict(f"region {data['region_id']} is a data centre of this AccessKey already",
                           code="ALIBABA_DATA_CENTER_EXISTS", details={"region_id": data["region_id"]})
        regions = {r["region_id"]: r for r in regions_of(Cloud(key, "cn-hangzhou"))}
        if data["region_id"] not in regions:
            raise serializers.ValidationError({"region_id": [f"Alibaba Cloud has no region {data['region_id']} "
                                                             f"for this key (it has {', '.join(sorted(regions))})"]})
        data["local_name"] = regions[data["region_id"]]["local_name"]
        data.setdefault("time_zone", default_time_zone(data["region_id"]))
        data.setdefault("name", data["local_name"] or data["region_id"])
        return data


class IdentityZoneSerializer(ResourceSerializer):
    data_center_uuid = serializers.UUIDField(source="data_center.uuid", read_only=True)
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)

    class Meta(ResourceSerializer.Meta):
        model = AlibabaIdentityZone
        fields = ResourceSerializer.Meta.fields + ["zone_id", "local_name", "state", "available_instance_types",
                                                   "data_center_uuid", "account_uuid"]
        read_only_fields = fields


# --- ECS instances (H3) ---------------------------------------------------------------------------
class EcsInstanceSerializer(ResourceSerializer):
    data_center_uuid = serializers.UUIDField(source="data_center.uuid", read_only=True)
    identity_zone_uuid = serializers.UUIDField(source="identity_zone.uuid", read_only=True, allow_null=True,
                                               default=None)
    zone_id = serializers.CharField(source="identity_zone.zone_id", read_only=True, allow_null=True, default=None)
    region_id = serializers.CharField(source="data_center.region_id", read_only=True)
    time_zone = serializers.CharField(source="data_center.time_zone", read_only=True,
                                      help_text="the data centre's: how its times are shown")
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)

    class Meta(ResourceSerializer.Meta):
        model = EcsInstance
        fields = ResourceSerializer.Meta.fields + [
            "instance_id", "state", "instance_type", "image_id", "cpu_num", "memory_size", "instance_charge_type",
            "internet_charge_type", "internet_max_bandwidth_out", "vpc_id", "v_switch_id", "security_group_ids",
            "private_ips", "public_ips", "eip_address", "host_name", "os_name", "data_center_uuid",
            "identity_zone_uuid", "zone_id", "region_id", "time_zone", "account_uuid", "remote_created_at",
            "expired_at"]
        # PATCH changes the description here only; the name is the cloud's (POST .../rename/)
        read_only_fields = [f for f in fields if f != "description"]


CHARGE_TYPES = [("PostPaid", "PostPaid"), ("PrePaid", "PrePaid")]
DISK_CATEGORIES = ["cloud_essd", "cloud_ssd", "cloud_efficiency", "cloud", "cloud_auto", "cloud_essd_entry"]
PASSWORD_CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[()`~!@#$%^&*\-_+=|{}\[\]:;'<>,.?/]")


def check_instance_password(value):
    """Alibaba's rule for an instance's password: 8 to 30 characters, of three kinds of four."""
    if not 8 <= len(value) <= 30 or sum(bool(re.search(kind, value)) for kind in PASSWORD_CLASSES) < 3:
        raise serializers.ValidationError("8 to 30 characters, with three of: lower case, upper case, digits, "
                                          "special characters")
    return value


class EcsCreateSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    """``POST /ecs-instances/``: ``count`` instances (named ``name-1``, ``name-2``... when more than
    one), each made by a job of its own."""

    name = serializers.CharField(max_length=128)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=256)
    identity_zone_uuid = UuidRelatedField(source="identity_zone", queryset=AlibabaIdentityZone.objects.all())
    instance_type = serializers.CharField(max_length=64, help_text="one the zone offers (its "
                                                                   "available_instance_types), e.g. ecs.g7.large")
    image_id = serializers.CharField(max_length=128, required=False, allow_blank=True, default="",
                                     help_text="the cloud's image id; or ecs_image_uuid")
    ecs_image_uuid = UuidRelatedField(source="ecs_image", queryset=EcsImage.objects.all(), required=False,
                                      help_text="an image the data centre's sync found (the console's choice)")
    security_group_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    v_switch_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    # or picked among the synced ones (the console's choices): network_serializers.apply_network_choices
    v_switch_uuid = UuidRelatedField(source="v_switch", queryset=AlibabaVSwitch.objects.all(), required=False)
    security_group_uuid = UuidRelatedField(source="security_group", queryset=AlibabaSecurityGroup.objects.all(),
                                           required=False)
    instance_charge_type = serializers.ChoiceField(choices=CHARGE_TYPES, default="PostPaid")
    internet_charge_type = serializers.ChoiceField(choices=["PayByTraffic", "PayByBandwidth"], default="PayByTraffic")
    internet_max_bandwidth_out = serializers.IntegerField(min_value=0, max_value=100, default=0,
                                                          help_text="Mbit/s (0: no public address)")
    system_disk_category = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    system_disk_size = serializers.IntegerField(min_value=20, max_value=2048, required=False, help_text="GiB")
    data_disk_sizes = serializers.ListField(
        child=serializers.IntegerField(min_value=20, max_value=32768), required=False, default=list, max_length=16,
        help_text="GiB each: data disks made with the instance (deleted with it)")
    data_disk_category = serializers.ChoiceField(choices=DISK_CATEGORIES, default="cloud_essd")
    eip_bandwidth = serializers.IntegerField(min_value=0, max_value=200, default=0,
                                             help_text="Mbit/s: an EIP allocated and associated with the instance "
                                                       "(0: none)")
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, default="",
                                     validators=[], style={"input_type": "password"})
    count = serializers.IntegerField(min_value=1, max_value=100, default=1)

    class Meta:
        model = EcsInstance

    def validate_password(self, value):
        return check_instance_password(value) if value else value

    def validate(self, data):
        zone = data["identity_zone"]
        if zone.state != "Available":
            raise serializers.ValidationError({"identity_zone_uuid": [f"zone {zone.zone_id} is {zone.state}"]})
        offered = zone.available_instance_types
        if offered and data["instance_type"] not in offered:
            raise serializers.ValidationError({"instance_type": [f"zone {zone.zone_id} does not offer "
                                                                 f"{data['instance_type']}"]})
        apply_image_choice(data)
        apply_network_choices(data)
        return data


def apply_image_choice(data):
    """The image picked among the synced ones becomes the cloud id RunInstances takes, once it fits:
    Available, of the instance's data centre; without one, ``image_id`` is required."""
    zone, image = data["identity_zone"], data.pop("ecs_image", None)
    if image is None:
        if not data.get("image_id"):
            raise serializers.ValidationError({"image_id": ["give image_id or ecs_image_uuid"]})
        return
    if image.state != "Available" or image.data_center_id != zone.data_center_id or not image.image_id:
        raise serializers.ValidationError({"ecs_image_uuid": [
            f"image {image.image_id or image.name} is not an Available image of zone {zone.zone_id}'s data centre"]})
    if data.get("image_id") and data["image_id"] != image.image_id:
        raise serializers.ValidationError({"image_id": [f"ecs_image_uuid names image {image.image_id}"]})
    data["image_id"] = image.image_id


def run_params(data):
    """RunInstances' parameters (the cloud's names) for a validated create."""
    zone = data["identity_zone"]
    params = {"ZoneId": zone.zone_id, "InstanceType": data["instance_type"], "ImageId": data["image_id"],
              "Description": data.get("description", ""), "InstanceChargeType": data["instance_charge_type"],
              "InternetChargeType": data["internet_charge_type"],
              "InternetMaxBandwidthOut": data["internet_max_bandwidth_out"]}
    if data.get("security_group_id"):
        params["SecurityGroupId"] = data["security_group_id"]
    if data.get("v_switch_id"):
        params["VSwitchId"] = data["v_switch_id"]
    disk = {k: v for k, v in (("Category", data.get("system_disk_category")), ("Size", data.get("system_disk_size")))
            if v}
    if disk:
        params["SystemDisk"] = disk
    if data.get("data_disk_sizes"):
        params["DataDisk"] = [{"Size": size, "Category": data["data_disk_category"], "DeleteWithInstance": True}
                              for size in data["data_disk_sizes"]]
    if data["instance_charge_type"] == "PrePaid":
        params.update(Period=1, PeriodUnit="Month", AutoPay=True)
    return params


class ForceBody(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False, help_text="power off instead of shutting down")


class RenameBody(serializers.Serializer):
    name = serializers.CharField(max_length=128)


class PasswordBody(serializers.Serializer):
    password = serializers.CharField(write_only=True, validators=[check_instance_password],
                                     style={"input_type": "password"},
                                     help_text="takes effect when the instance next starts")

    def validate(self, data):
        return {"password": encrypt(data["password"])}


class ChargeTypeBody(serializers.Serializer):
    instance_charge_type = serializers.ChoiceField(choices=CHARGE_TYPES)
    period = serializers.IntegerField(min_value=1, max_value=60, required=False, default=1,
                                      help_text="PrePaid: how many period units")
    period_unit = serializers.ChoiceField(choices=["Month", "Week"], required=False, default="Month")


class VncPasswordBody(serializers.Serializer):
    password = serializers.RegexField(r"^[A-Za-z0-9]{6}$", write_only=True, style={"input_type": "password"},
                                      help_text="six letters or digits",
                                      error_messages={"invalid": "six letters or digits"})

    def validate(self, data):
        return {"password": encrypt(data["password"])}


class VncUrlSerializer(serializers.Serializer):
    vnc_url = serializers.CharField(help_text="the cloud's VNC websocket address, valid for 15 seconds")
    console_url = serializers.CharField(help_text="Alibaba's web VNC page opening it")

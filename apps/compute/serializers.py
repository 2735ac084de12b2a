from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import BuiltOnceFieldsMixin, ResourceSerializer, ReverseRowsList, column_range
from rest_framework import serializers

from apps.infra.models import Cluster, Host, Zone
from apps.storage.models import Image, PrimaryStorageType, Volume

from .guest import create_fields as guest_create_fields
from .models import AllocatorStrategy, HaLevel, InstanceOffering, VmInstance


class InstanceOfferingSerializer(ResourceSerializer):
    cpu_num = serializers.IntegerField(min_value=1, max_value=1024)
    memory_size = serializers.IntegerField(min_value=16 * 1024 * 1024, help_text="bytes")
    primary_storage_type = serializers.ChoiceField(
        choices=PrimaryStorageType.choices, required=False, allow_blank=True,
        help_text="root volumes of its VMs go to a primary storage of this type (empty: any)")

    class Meta(ResourceSerializer.Meta):
        from .models import InstanceOffering

        model = InstanceOffering
        fields = ResourceSerializer.Meta.fields + [
            "cpu_num", "memory_size", "cpu_speed", "allocator_strategy", "sort_key", "type", "state",
            "primary_storage_type"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["type", "state"]


class VmNicSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    l3_network_uuid = serializers.UUIDField(source="l3_network.uuid", read_only=True)
    ip = serializers.CharField(read_only=True)
    mac = serializers.CharField(read_only=True)
    netmask = serializers.CharField(read_only=True)
    gateway = serializers.CharField(read_only=True)
    device_id = serializers.IntegerField(read_only=True)
    inbound_bandwidth = serializers.IntegerField(read_only=True)    # QoS (bytes/s): the VM's set-qos action
    outbound_bandwidth = serializers.IntegerField(read_only=True)

    class Meta:
        list_serializer_class = ReverseRowsList   # a VM just made has none yet: no query for them


class VmInstanceSerializer(ResourceSerializer):
    """A VM as the API shows it (creation takes VmCreateSerializer)."""

    nics = VmNicSerializer(many=True, read_only=True)
    image_uuid = serializers.UUIDField(source="image.uuid", read_only=True, allow_null=True, default=None)
    root_volume_uuid = serializers.UUIDField(source="root_volume.uuid", read_only=True, allow_null=True,
                                             default=None)

    zone_uuid = serializers.UUIDField(source="zone.uuid", read_only=True, allow_null=True, default=None)
    cluster_uuid = serializers.UUIDField(source="cluster.uuid", read_only=True, allow_null=True, default=None)
    host_uuid = serializers.UUIDField(source="host.uuid", read_only=True, allow_null=True, default=None)
    last_host_uuid = serializers.UUIDField(source="last_host.uuid", read_only=True, allow_null=True, default=None)
    instance_offering_uuid = serializers.UUIDField(source="instance_offering.uuid", read_only=True,
                                                   allow_null=True, default=None)
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)
    video_type = serializers.ChoiceField(choices=guest_create_fields.VIDEO_TYPES, required=False)

    class Meta(ResourceSerializer.Meta):
        from .models import VmInstance

        model = VmInstance
        fields = ResourceSerializer.Meta.fields + [
            "state", "type", "hypervisor_type", "cpu_num", "memory_size", "allocator_strategy", "platform",
            "cloud_zone_id", "zone_uuid", "cluster_uuid", "host_uuid", "last_host_uuid", "instance_offering_uuid",
            "account_uuid", "image_uuid", "root_volume_uuid", "nics", "destroyed_at", "ha_level",
            "cpu_max", "memory_max", "boot_order", "video_type", "guest_agent", "has_cdrom", "hostname"]
        # PATCH renames and sets the HA level (apps/compute/ha.py); video and guest agent apply from
        # the next start (the define follows the row)
        read_only_fields = [f for f in fields if f not in ("name", "description", "ha_level", "video_type",
                                                           "guest_agent")]


class VmCreateSerializer(BuiltOnceFieldsMixin, guest_create_fields.GuestCreateFields, serializers.Serializer):
    """``POST /vm-instances/``: an offering or cpu_num + memory_size, an image, L3 networks. Its
    fields are copied per request the cheap way (BuiltOnceFieldsMixin): DRF's deep copy made each
    UuidRelatedField again, a tenth of the web's CPU for a create."""

    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    instance_offering_uuid = UuidRelatedField(source="instance_offering", required=False,
                                              queryset=InstanceOffering.objects.all())
    cpu_num = serializers.IntegerField(min_value=1, max_value=1024, required=False)
    memory_size = serializers.IntegerField(min_value=16 * 1024 * 1024, required=False, help_text="bytes")
    image_uuid = UuidRelatedField(source="image", queryset=Image.objects.all())
    l3_network_uuids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=16)
    static_ips = serializers.DictField(child=serializers.IPAddressField(protocol="IPv4"), required=False,
                                       default=dict, help_text="{l3_network_uuid: ip}")
    zone_uuid = UuidRelatedField(source="zone", required=False, queryset=Zone.objects.all())
    cluster_uuid = UuidRelatedField(source="cluster", required=False, queryset=Cluster.objects.all())
    host_uuid = UuidRelatedField(source="host", required=False, queryset=Host.objects.all())
    identity_zone_uuid = serializers.UUIDField(
        required=False, help_text="a public cloud's zone (hybrid edition: an Alibaba Cloud identity zone) to create "
                                  "the VM in instead of on a local host; its image, offering and L3 network must be "
                                  "mapped to the cloud's (see docs/hybrid.md)")
    root_disk_size = serializers.IntegerField(min_value=1, max_value=column_range(Volume._meta.get_field("size"))[1],
                                              required=False, help_text="bytes")
    allocator_strategy = serializers.ChoiceField(choices=AllocatorStrategy.choices, required=False)
    platform = serializers.CharField(max_length=32, required=False)
    start = serializers.BooleanField(required=False, default=True)
    count = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=1)
    primary_storage_uuid = serializers.UUIDField(required=False, help_text="put the root volume on this primary "
                                                                            "storage (attached to the host's cluster)")
    primary_storage_type = serializers.ChoiceField(
        choices=PrimaryStorageType.choices, required=False,
        help_text="put the root volume on a primary storage of this type (LocalStorage, SharedMountPoint, NFS)")
    ha_level = serializers.ChoiceField(choices=HaLevel.choices, required=False, allow_null=True, default=None,
                                       help_text="NeverStop: restarted on another host when its host fails "
                                                 "(docs/maintenance-and-ha.md)")

    class Meta:
        model = VmInstance  # the columns name, cpu_num, memory_size... are saved in: their limits apply

    def validate(self, data):
        offering = data.get("instance_offering")
        if offering is None and not ("cpu_num" in data and "memory_size" in data):
            raise serializers.ValidationError(
                {"instance_offering_uuid": ["give instance_offering_uuid, or cpu_num and memory_size"]})
        if offering is not None:
            if offering.state != "Enabled":
                raise serializers.ValidationError({"instance_offering_uuid": [f"offering {offering.name} is "
                                                                              f"{offering.state}"]})
            data.setdefault("cpu_num", offering.cpu_num)
            data.setdefault("memory_size", offering.memory_size)
            data.setdefault("allocator_strategy", offering.allocator_strategy)
            if offering.primary_storage_type and not data.get("primary_storage_type"):
                data["primary_storage_type"] = offering.primary_storage_type
        if data.get("identity_zone_uuid") is not None:
            return self._validate_in_cloud(data)
        image = data["image"]
        if image.state != "Enabled" or image.status != "Ready":
            raise serializers.ValidationError({"image_uuid": [f"image {image.name} is {image.status}/{image.state}: "
                                                              "only a Ready, Enabled image can be used"]})
        l3s = [str(u) for u in data["l3_network_uuids"]]
        if len(set(l3s)) != len(l3s):
            raise serializers.ValidationError({"l3_network_uuids": ["an L3 network may appear once"]})
        from apps.network.models import L3Network

        found = {str(l3.uuid) for l3 in L3Network.objects.with_uuids(l3s)}
        missing = [u for u in l3s if u not in found]
        if missing:
            raise serializers.ValidationError({"l3_network_uuids": [f"L3 network {missing[0]} not found"]})
        unknown = [u for u in data["static_ips"] if u not in l3s]
        if unknown:
            raise serializers.ValidationError({"static_ips": [f"{unknown[0]} is not one of l3_network_uuids"]})
        if data["static_ips"] and data["count"] > 1:
            raise serializers.ValidationError({"static_ips": ["static IPs need count 1"]})
        return guest_create_fields.validate(data)

    # what only a local placement has: refused with a cloud's zone rather than silently ignored
    LOCAL_ONLY = ("zone", "cluster", "host", "static_ips", "root_disk_size", "ha_level")

    def _validate_in_cloud(self, data):
        """A create placed in a public cloud's zone: the cloud's app checks and maps it
        (apps/compute/vm_clouds.py); ``data["vm_cloud"]`` says which cloud starts it."""
        from . import vm_clouds

        for name in self.LOCAL_ONLY:
            if data.get(name):
                field = name if name in ("static_ips", "root_disk_size", "ha_level") else f"{name}_uuid"
                raise serializers.ValidationError({field: [f"{field} places a VM on a local host: not with "
                                                           "identity_zone_uuid"]})
        request = self.context.get("request")
        user = getattr(request, "user", None)
        cloud, zone = vm_clouds.find_zone(data["identity_zone_uuid"], user)
        if zone is None:
            raise serializers.ValidationError({"identity_zone_uuid": [
                f"identity zone {data['identity_zone_uuid']} not found"]})
        data["vm_cloud"] = cloud
        return cloud.validate_create(data, zone, user)

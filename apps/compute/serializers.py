import ipaddress
import re

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import BuiltOnceFieldsMixin, ResourceSerializer, ReverseRowsList, column_range
from rest_framework import serializers

from apps.storage.models import Image, Volume

from .models import AllocatorStrategy, Cluster, Host, InstanceOffering, VmInstance, Zone

HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def valid_address(value):
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(HOSTNAME_RE.match(value)) and not value.replace(".", "").isdigit()


class ZoneSerializer(ResourceSerializer):
    class Meta(ResourceSerializer.Meta):
        model = Zone
        fields = ResourceSerializer.Meta.fields + ["state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]


class ClusterSerializer(ResourceSerializer):
    zone_uuid = UuidRelatedField(source="zone", queryset=Zone.objects.all())
    hypervisor_type = serializers.ChoiceField(choices=Cluster._meta.get_field("hypervisor_type").choices)

    class Meta(ResourceSerializer.Meta):
        model = Cluster
        fields = ResourceSerializer.Meta.fields + ["zone_uuid", "hypervisor_type", "state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # a cluster does not move between zones or change type
            fields["zone_uuid"].read_only = True
            fields["hypervisor_type"].read_only = True
        return fields


class HostSerializer(ResourceSerializer):
    cluster_uuid = UuidRelatedField(source="cluster", queryset=Cluster.objects.all())
    hypervisor_type = serializers.ChoiceField(choices=Cluster._meta.get_field("hypervisor_type").choices)
    management_ip = serializers.CharField(max_length=255, required=False)
    password = serializers.CharField(write_only=True, required=False, allow_blank=False,
                                     style={"input_type": "password"})
    private_key = serializers.CharField(write_only=True, required=False, allow_blank=False)
    cpu_num = serializers.IntegerField(min_value=1, max_value=4096, required=False)
    memory_size = serializers.IntegerField(min_value=64 * 1024 * 1024, required=False,
                                           help_text="bytes (Simulator hosts)")
    total_cpu = serializers.IntegerField(read_only=True)
    available_cpu = serializers.IntegerField(read_only=True)
    total_memory = serializers.IntegerField(read_only=True)
    available_memory = serializers.IntegerField(read_only=True)

    class Meta(ResourceSerializer.Meta):
        from .models import Host

        model = Host
        fields = ResourceSerializer.Meta.fields + [
            "cluster_uuid", "hypervisor_type", "management_ip", "ssh_port", "username", "password",
            "private_key", "agent_port", "agent_version", "status", "state", "cpu_num", "memory_size",
            "total_cpu", "available_cpu", "total_memory", "available_memory", "used_cpu", "used_memory",
            "reserved_cpu", "reserved_memory", "facts", "last_ping_at",
        ]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + [
            "agent_version", "status", "state", "used_cpu", "used_memory", "facts", "last_ping_at"]
        # how the portal reaches and logs in to the host, and what its agent reported about it
        admin_only_fields = ["management_ip", "ssh_port", "username", "agent_port", "agent_version", "facts"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # identity and address do not change after the add
            for name in ("cluster_uuid", "hypervisor_type", "management_ip", "ssh_port", "username",
                         "password", "private_key", "agent_port", "cpu_num", "memory_size"):
                fields[name].read_only = True
        return fields

    def validate(self, data):
        if self.instance is not None:
            return data
        kind = data.get("hypervisor_type")
        cluster = data.get("cluster")
        if cluster is not None and cluster.hypervisor_type != kind:
            raise serializers.ValidationError(
                {"hypervisor_type": [f"cluster {cluster.name} is a {cluster.hypervisor_type} cluster"]})
        if kind == "Simulator":
            missing = [f for f in ("cpu_num", "memory_size") if f not in data]
            if missing:
                raise serializers.ValidationError({f: ["This field is required for Simulator hosts."] for f in missing})
        elif kind == "KVM":
            self._validate_kvm(data)
        return data

    def _validate_kvm(self, data):
        errors = {}
        address = (data.get("management_ip") or "").strip()
        if not address:
            errors["management_ip"] = ["This field is required for KVM hosts."]
        elif not valid_address(address):
            errors["management_ip"] = [f"{address!r} is neither an IP address nor a host name."]
        else:
            data["management_ip"] = address
        given = [f for f in ("password", "private_key") if data.get(f)]
        if len(given) != 1:
            errors["password"] = ["Give exactly one of password or private_key."]
        elif given == ["private_key"]:
            from .ssh import load_private_key

            try:
                load_private_key(data["private_key"])
            except ValueError as exc:
                errors["private_key"] = [str(exc)]
        for port in ("ssh_port", "agent_port"):
            if port in data and not 1 <= data[port] <= 65535:
                errors[port] = ["Ports are 1-65535."]
        if errors:
            raise serializers.ValidationError(errors)


class InstanceOfferingSerializer(ResourceSerializer):
    cpu_num = serializers.IntegerField(min_value=1, max_value=1024)
    memory_size = serializers.IntegerField(min_value=16 * 1024 * 1024, help_text="bytes")

    class Meta(ResourceSerializer.Meta):
        from .models import InstanceOffering

        model = InstanceOffering
        fields = ResourceSerializer.Meta.fields + [
            "cpu_num", "memory_size", "cpu_speed", "allocator_strategy", "sort_key", "type", "state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["type", "state"]


class VmNicSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    l3_network_uuid = serializers.UUIDField(source="l3_network.uuid", read_only=True)
    ip = serializers.CharField(read_only=True)
    mac = serializers.CharField(read_only=True)
    netmask = serializers.CharField(read_only=True)
    gateway = serializers.CharField(read_only=True)
    device_id = serializers.IntegerField(read_only=True)

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

    class Meta(ResourceSerializer.Meta):
        from .models import VmInstance

        model = VmInstance
        fields = ResourceSerializer.Meta.fields + [
            "state", "type", "hypervisor_type", "cpu_num", "memory_size", "allocator_strategy", "platform",
            "zone_uuid", "cluster_uuid", "host_uuid", "last_host_uuid", "instance_offering_uuid", "account_uuid",
            "image_uuid", "root_volume_uuid", "nics", "destroyed_at"]
        read_only_fields = [f for f in fields if f not in ("name", "description")]  # PATCH renames


class VmCreateSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
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
    root_disk_size = serializers.IntegerField(min_value=1, max_value=column_range(Volume._meta.get_field("size"))[1],
                                              required=False, help_text="bytes")
    allocator_strategy = serializers.ChoiceField(choices=AllocatorStrategy.choices, required=False)
    platform = serializers.CharField(max_length=32, required=False)
    start = serializers.BooleanField(required=False, default=True)
    count = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=1)

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
        return data

import ipaddress
import re

from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import FieldSelectionMixin, ResourceSerializer
from apps.infra.models import Zone

from .models import IpRange, L2Network, L2NetworkType, L3Network, L3NetworkCategory, UsedIp

# br_<interface> must fit Linux's 15-character interface names
INTERFACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,11}$")


class L2NetworkSerializer(ResourceSerializer):
    zone_uuid = UuidRelatedField(source="zone", queryset=Zone.objects.all())
    type = serializers.ChoiceField(choices=L2NetworkType.choices, default=L2NetworkType.NO_VLAN)
    physical_interface = serializers.CharField(max_length=12, help_text="e.g. eth0; the bridge is br_<interface>")
    bridge_name = serializers.CharField(read_only=True)
    cluster_uuids = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = L2Network
        fields = ResourceSerializer.Meta.fields + ["zone_uuid", "type", "physical_interface", "bridge_name",
                                                   "cluster_uuids"]
        admin_only_fields = ["physical_interface", "bridge_name"]  # the hosts' interfaces

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # what the hosts were given does not change
            for name in ("zone_uuid", "type", "physical_interface"):
                fields[name].read_only = True
        return fields

    def get_cluster_uuids(self, obj) -> list[str]:
        return [str(c.uuid) for c in obj.clusters.all()]

    def validate_physical_interface(self, value):
        if not INTERFACE_RE.match(value):
            raise serializers.ValidationError(
                "a Linux interface name of 1-12 letters, digits, '_', '.', ':' or '-' (the bridge br_<name> "
                "must fit 15 characters)")
        return value


class ClusterRefSerializer(serializers.Serializer):
    cluster_uuid = serializers.UUIDField()


class IpRangeSerializer(ResourceSerializer):
    name = serializers.CharField(max_length=255, required=False)
    start_ip = serializers.IPAddressField(protocol="IPv4")
    end_ip = serializers.IPAddressField(protocol="IPv4")
    netmask = serializers.IPAddressField(protocol="IPv4")
    gateway = serializers.IPAddressField(protocol="IPv4")
    l3_network_uuid = serializers.SerializerMethodField()
    used_ip_count = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = IpRange
        fields = ResourceSerializer.Meta.fields + ["l3_network_uuid", "start_ip", "end_ip", "netmask", "gateway",
                                                   "network_cidr", "used_ip_count"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["network_cidr"]

    def get_l3_network_uuid(self, obj) -> str:
        return str(obj.l3_network.uuid)

    def get_used_ip_count(self, obj) -> int:
        return obj.used_ips.count()

    def validate(self, data):
        errors = {}
        try:
            network = ipaddress.IPv4Network(f"{data['start_ip']}/{data['netmask']}", strict=False)
        except ValueError:
            raise serializers.ValidationError({"netmask": [f"{data['netmask']} is not a netmask"]}) from None
        if network.prefixlen > 30:
            errors["netmask"] = ["the subnet must have room for hosts (a /30 or larger)"]
        start, end = ipaddress.IPv4Address(data["start_ip"]), ipaddress.IPv4Address(data["end_ip"])
        if end not in network:
            errors["end_ip"] = [f"{end} is not in the subnet {network} of start_ip"]
        elif start > end:
            errors["end_ip"] = [f"end_ip {end} is lower than start_ip {start}"]
        gateway = ipaddress.IPv4Address(data["gateway"])
        if gateway not in network:
            errors["gateway"] = [f"{gateway} is not in the subnet {network}"]
        elif gateway in (network.network_address, network.broadcast_address):
            errors["gateway"] = [f"{gateway} is the network or broadcast address of {network}"]
        if errors:
            raise serializers.ValidationError(errors)
        data["network_cidr"] = str(network)
        data["start_int"], data["end_int"] = int(start), int(end)
        data.setdefault("name", f"{start}-{end}")
        return data


def check_against_ranges(l3, data):
    """The new range and the L3's other ranges: one subnet (same netmask and gateway), no overlap.
    Called with the L3 row locked."""
    errors = {}
    for other in l3.ip_ranges.all():
        if other.netmask != data["netmask"] or other.network_cidr != data["network_cidr"]:
            errors.setdefault("netmask", []).append(
                f"the L3 network's subnet is {other.network_cidr} (range {other.start_ip}-{other.end_ip})")
        if other.gateway != data["gateway"]:
            errors.setdefault("gateway", []).append(f"the L3 network's gateway is {other.gateway}")
        if data["start_int"] <= other.end_int and other.start_int <= data["end_int"]:
            errors.setdefault("start_ip", []).append(
                f"overlaps IP range {other.name} ({other.start_ip}-{other.end_ip})")
    if errors:
        raise serializers.ValidationError(errors)


class L3NetworkSerializer(ResourceSerializer):
    l2_network_uuid = UuidRelatedField(source="l2_network", queryset=L2Network.objects.all())
    category = serializers.ChoiceField(choices=L3NetworkCategory.choices, default=L3NetworkCategory.PRIVATE)
    dns = serializers.ListField(child=serializers.IPAddressField(protocol="IPv4"), default=list, max_length=8)
    dhcp = serializers.BooleanField(default=True, help_text="the hosts serve DHCP for this network (flat network)")
    zone_uuid = serializers.SerializerMethodField()
    netmask = serializers.SerializerMethodField()
    gateway = serializers.SerializerMethodField()
    dhcp_server_ip = serializers.SerializerMethodField()
    ip_ranges = serializers.SerializerMethodField()

    class Meta(ResourceSerializer.Meta):
        model = L3Network
        fields = ResourceSerializer.Meta.fields + ["l2_network_uuid", "zone_uuid", "category", "dns", "dhcp",
                                                   "netmask", "gateway", "dhcp_server_ip", "ip_ranges"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            for name in ("l2_network_uuid", "dns", "dhcp"):
                fields[name].read_only = True
        return fields

    def get_zone_uuid(self, obj) -> str:
        return str(obj.l2_network.zone.uuid)

    def get_netmask(self, obj) -> str | None:
        return obj.subnet()[0]

    def get_gateway(self, obj) -> str | None:
        return obj.subnet()[1]

    def get_dhcp_server_ip(self, obj) -> str | None:
        return obj.dhcp_server_ip()

    def get_ip_ranges(self, obj) -> list[dict]:
        return [{"uuid": str(r.uuid), "start_ip": r.start_ip, "end_ip": r.end_ip}
                for r in obj.ip_ranges.order_by("start_int")]


class UsedIpSerializer(FieldSelectionMixin, serializers.ModelSerializer):
    l3_network_uuid = serializers.SerializerMethodField()
    ip_range_uuid = serializers.SerializerMethodField()

    class Meta:
        model = UsedIp
        fields = ["uuid", "l3_network_uuid", "ip_range_uuid", "ip", "mac", "owner_type", "owner_uuid", "created_at"]
        read_only_fields = fields

    def get_l3_network_uuid(self, obj) -> str:
        return str(obj.l3_network.uuid)

    def get_ip_range_uuid(self, obj) -> str:
        return str(obj.ip_range.uuid)

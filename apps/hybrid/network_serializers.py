"""The API's shapes of the mirrored network (H4, H7): VPCs, vSwitches, VRouters, route entries,
security groups with their rules, EIPs; what creating each takes, checked here the way the cloud
checks it (a CIDR inside the VPC's, a zone of the data centre) so that a mistake is a 400 at once
rather than a failed job."""
import ipaddress

from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import BuiltOnceFieldsMixin, ResourceSerializer
from apps.core.errors import Conflict

from .models import (AlibabaDataCenter, AlibabaEip, AlibabaIdentityZone, AlibabaRouteEntry, AlibabaSecurityGroup,
                     AlibabaVpc, AlibabaVRouter, AlibabaVSwitch, EcsInstance, NetworkState)

AVAILABLE = NetworkState.AVAILABLE


class NetworkSerializer(ResourceSerializer):
    """What every mirrored network resource shows besides its own fields."""

    data_center_uuid = serializers.UUIDField(source="data_center.uuid", read_only=True)
    region_id = serializers.CharField(source="data_center.region_id", read_only=True)
    time_zone = serializers.CharField(source="data_center.time_zone", read_only=True,
                                      help_text="the data centre's: how its times are shown")
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)

    COMMON = ["state", "data_center_uuid", "region_id", "time_zone", "account_uuid", "remote_created_at"]

    class Meta(ResourceSerializer.Meta):
        # PATCH changes the description here only; the rest is the cloud's
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["name", "state", "remote_created_at"]


def _vpc_uuid():
    return serializers.UUIDField(source="parent_vpc.uuid", read_only=True, allow_null=True, default=None)


def _read_only(meta_fields):
    return [field for field in meta_fields if field != "description"]


class VpcSerializer(NetworkSerializer):
    class Meta(NetworkSerializer.Meta):
        model = AlibabaVpc
        fields = ResourceSerializer.Meta.fields + ["vpc_id", "cidr_block", "v_router_id", "is_default",
                                                   *NetworkSerializer.COMMON]
        read_only_fields = _read_only(fields)


class VSwitchSerializer(NetworkSerializer):
    vpc_uuid = _vpc_uuid()
    identity_zone_uuid = serializers.UUIDField(source="identity_zone.uuid", read_only=True, allow_null=True,
                                               default=None)
    zone_id = serializers.CharField(source="identity_zone.zone_id", read_only=True, allow_null=True, default=None)

    class Meta(NetworkSerializer.Meta):
        model = AlibabaVSwitch
        fields = ResourceSerializer.Meta.fields + ["v_switch_id", "vpc_id", "vpc_uuid", "cidr_block", "zone_id",
                                                   "identity_zone_uuid", "available_ip_address_count",
                                                   *NetworkSerializer.COMMON]
        read_only_fields = _read_only(fields)


class VRouterSerializer(NetworkSerializer):
    vpc_uuid = _vpc_uuid()

    class Meta(NetworkSerializer.Meta):
        model = AlibabaVRouter
        fields = ResourceSerializer.Meta.fields + ["v_router_id", "vpc_id", "vpc_uuid", "route_table_ids",
                                                   *NetworkSerializer.COMMON]
        read_only_fields = _read_only(fields)


class RouteEntrySerializer(NetworkSerializer):
    v_router_uuid = serializers.UUIDField(source="v_router.uuid", read_only=True, allow_null=True, default=None)

    class Meta(NetworkSerializer.Meta):
        model = AlibabaRouteEntry
        fields = ResourceSerializer.Meta.fields + ["route_entry_id", "route_table_id", "destination_cidr_block",
                                                   "next_hop_type", "next_hop_id", "entry_type", "v_router_uuid",
                                                   *NetworkSerializer.COMMON]
        read_only_fields = _read_only(fields)


class SecurityGroupRuleSerializer(serializers.Serializer):
    rule_id = serializers.CharField()
    direction = serializers.CharField()
    ip_protocol = serializers.CharField()
    port_range = serializers.CharField()
    source_cidr_ip = serializers.CharField()
    dest_cidr_ip = serializers.CharField()
    source_group_id = serializers.CharField()
    dest_group_id = serializers.CharField()
    policy = serializers.CharField()
    priority = serializers.IntegerField(read_only=True)   # an answer's, as the cloud said it
    nic_type = serializers.CharField()
    description = serializers.CharField()


class SecurityGroupSerializer(NetworkSerializer):
    vpc_uuid = _vpc_uuid()
    rules = SecurityGroupRuleSerializer(many=True, read_only=True)

    class Meta(NetworkSerializer.Meta):
        model = AlibabaSecurityGroup
        fields = ResourceSerializer.Meta.fields + ["security_group_id", "vpc_id", "vpc_uuid", "security_group_type",
                                                   "rules", *NetworkSerializer.COMMON]
        read_only_fields = _read_only(fields)


class EipSerializer(NetworkSerializer):
    ecs_instance_uuid = serializers.UUIDField(source="ecs_instance.uuid", read_only=True, allow_null=True,
                                              default=None)

    class Meta(NetworkSerializer.Meta):
        model = AlibabaEip
        fields = ResourceSerializer.Meta.fields + ["allocation_id", "ip_address", "bandwidth", "internet_charge_type",
                                                   "instance_charge_type", "instance_id", "ecs_instance_uuid",
                                                   *NetworkSerializer.COMMON]
        read_only_fields = _read_only(fields)


# --- creates -------------------------------------------------------------------------------------
def ipv4_network(value, field="cidr_block"):
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise serializers.ValidationError({field: [f"'{value}' is not an IPv4 CIDR block (10.0.0.0/16)"]}) from None


def available_vpc(vpc, field="vpc_uuid"):
    if vpc.state != AVAILABLE or not vpc.vpc_id:
        raise serializers.ValidationError({field: [f"VPC {vpc.vpc_id or vpc.name} is {vpc.state}, not Available"]})
    return vpc


class NamedCreate(BuiltOnceFieldsMixin, serializers.Serializer):
    """A name and a description the cloud takes (a name starts with a letter: the cloud's rule)."""

    name = serializers.RegexField(r"^[^\W\d_]", max_length=128, required=False,
                                  error_messages={"invalid": "starts with a letter"})
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=256)


class VpcCreateSerializer(NamedCreate):
    """``POST /alibaba-vpcs/``: a VPC in a data centre (a private block, /8 to /28)."""

    data_center_uuid = UuidRelatedField(source="data_center", queryset=AlibabaDataCenter.objects.all())
    cidr_block = serializers.CharField(max_length=64, default="172.16.0.0/12")

    class Meta:
        model = AlibabaVpc

    def validate(self, data):
        network = ipv4_network(data["cidr_block"])
        if not network.is_private or not 8 <= network.prefixlen <= 28:
            raise serializers.ValidationError({"cidr_block": ["a private block (10.0.0.0/8, 172.16.0.0/12, "
                                                              "192.168.0.0/16 or inside one), /8 to /28"]})
        data["cidr_block"] = str(network)
        return data


class VSwitchCreateSerializer(NamedCreate):
    """``POST /alibaba-v-switches/``: a vSwitch of an Available VPC, in a zone of its data centre,
    its block inside the VPC's (/16 to /29) and overlapping none of the VPC's other vSwitches."""

    vpc_uuid = UuidRelatedField(source="vpc", queryset=AlibabaVpc.objects.all())
    identity_zone_uuid = UuidRelatedField(source="identity_zone", queryset=AlibabaIdentityZone.objects.all())
    cidr_block = serializers.CharField(max_length=64)

    class Meta:
        model = AlibabaVSwitch

    def validate(self, data):
        vpc, zone = available_vpc(data["vpc"]), data["identity_zone"]
        if zone.data_center_id != vpc.data_center_id or zone.state != AVAILABLE:
            raise serializers.ValidationError({"identity_zone_uuid": [
                f"zone {zone.zone_id} is not an Available zone of the VPC's data centre"]})
        network = ipv4_network(data["cidr_block"])
        if not (network.subnet_of(ipaddress.IPv4Network(vpc.cidr_block)) and 16 <= network.prefixlen <= 29):
            raise serializers.ValidationError({"cidr_block": [
                f"a block inside the VPC's {vpc.cidr_block}, /16 to /29"]})
        for other in AlibabaVSwitch.objects.filter(parent_vpc=vpc).exclude(state=NetworkState.DELETED):
            if ipaddress.IPv4Network(other.cidr_block).overlaps(network):
                raise serializers.ValidationError({"cidr_block": [
                    f"overlaps vSwitch {other.v_switch_id or other.name} ({other.cidr_block})"]})
        data["cidr_block"] = str(network)
        return data


class SecurityGroupCreateSerializer(NamedCreate):
    """``POST /alibaba-security-groups/``: a security group in an Available VPC."""

    vpc_uuid = UuidRelatedField(source="vpc", queryset=AlibabaVpc.objects.all())
    security_group_type = serializers.ChoiceField(choices=["normal", "enterprise"], default="normal",
                                                  help_text="enterprise: members do not reach each other by default")

    class Meta:
        model = AlibabaSecurityGroup

    def validate(self, data):
        available_vpc(data["vpc"])
        return data


class EipCreateSerializer(NamedCreate):
    """``POST /alibaba-eips/``: allocate an EIP (pay-as-you-go) in a data centre."""

    data_center_uuid = UuidRelatedField(source="data_center", queryset=AlibabaDataCenter.objects.all())
    bandwidth = serializers.IntegerField(min_value=1, max_value=200, default=5, help_text="Mbit/s")
    internet_charge_type = serializers.ChoiceField(choices=["PayByTraffic", "PayByBandwidth"], default="PayByTraffic")

    class Meta:
        model = AlibabaEip


NEXT_HOP_TYPES = ["Instance", "HaVip", "RouterInterface", "NetworkInterface", "VpnGateway", "NatGateway"]


class RouteEntryCreateSerializer(NamedCreate):
    """``POST /alibaba-route-entries/``: a custom entry in the route table of a VRouter."""

    v_router_uuid = UuidRelatedField(source="v_router", queryset=AlibabaVRouter.objects.all())
    destination_cidr_block = serializers.CharField(max_length=64)
    next_hop_type = serializers.ChoiceField(choices=NEXT_HOP_TYPES, default="Instance")
    next_hop_id = serializers.CharField(max_length=64, help_text="an ECS instance's id (i-...) for Instance")

    class Meta:
        model = AlibabaRouteEntry

    def validate(self, data):
        router = data["v_router"]
        if router.state != AVAILABLE or not router.route_table_ids:
            raise serializers.ValidationError({"v_router_uuid": [f"VRouter {router.v_router_id} has no route table"]})
        data["route_table_id"] = router.route_table_ids[0]
        data["destination_cidr_block"] = str(ipv4_network(data["destination_cidr_block"], "destination_cidr_block"))
        if AlibabaRouteEntry.objects.filter(data_center_id=router.data_center_id, route_table_id=data["route_table_id"],
                                            destination_cidr_block=data["destination_cidr_block"]).exists():
            raise Conflict(f"route table {data['route_table_id']} has an entry for {data['destination_cidr_block']}",
                           code="ALIBABA_ROUTE_EXISTS",
                           details={"destination_cidr_block": data["destination_cidr_block"]})
        return data


# --- actions --------------------------------------------------------------------------------------
PROTOCOLS = ["TCP", "UDP", "ICMP", "GRE", "ALL"]


class RuleBody(serializers.Serializer):
    """A rule to add: who (``cidr_ip``: where from for ingress, where to for egress) may reach
    which ports (``port_range`` "22/22", "1/65535"; -1/-1 for protocols without ports)."""

    direction = serializers.ChoiceField(choices=["ingress", "egress"], default="ingress")
    ip_protocol = serializers.ChoiceField(choices=PROTOCOLS)
    port_range = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    cidr_ip = serializers.CharField(max_length=64, default="0.0.0.0/0")
    policy = serializers.ChoiceField(choices=["accept", "drop"], default="accept")
    priority = serializers.IntegerField(min_value=1, max_value=100, default=1)
    nic_type = serializers.ChoiceField(choices=["intranet", "internet"], default="intranet")
    description = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")

    def validate(self, data):
        data["cidr_ip"] = str(ipv4_network(data["cidr_ip"], "cidr_ip"))
        if data["ip_protocol"] not in ("TCP", "UDP"):
            data["port_range"] = "-1/-1"
            return data
        low, _, high = data["port_range"].partition("/")
        if not (low.isdigit() and high.isdigit() and 1 <= int(low) <= int(high) <= 65535):
            raise serializers.ValidationError({"port_range": ["first/last port, 1 to 65535 (22/22, 8000/8080)"]})
        return data


class RemoveRuleBody(serializers.Serializer):
    rule_id = serializers.CharField(max_length=64, help_text="the rule's id (sgr-...), from the group's rules")


class AssociateBody(serializers.Serializer):
    ecs_instance_uuid = UuidRelatedField(source="ecs_instance", queryset=EcsInstance.objects.all())


# --- the create-ECS form's choices -----------------------------------------------------------------
def apply_network_choices(data):
    """An ECS create's vSwitch and security group picked among the synced rows (``v_switch`` and
    ``security_group``, from their uuids) become the cloud ids RunInstances takes, once they fit:
    Available, of the instance's data centre, the vSwitch in the instance's zone, the group in the
    vSwitch's VPC (the cloud refuses any other)."""
    zone = data["identity_zone"]
    v_switch, group = data.pop("v_switch", None), data.pop("security_group", None)
    if v_switch is not None:
        if v_switch.state != AVAILABLE or v_switch.data_center_id != zone.data_center_id or \
                v_switch.identity_zone_id != zone.pk:
            raise serializers.ValidationError({"v_switch_uuid": [
                f"vSwitch {v_switch.v_switch_id or v_switch.name} is not an Available vSwitch of zone {zone.zone_id}"]})
        _same_as_given(data, "v_switch_id", v_switch.v_switch_id, "v_switch_uuid")
    if group is not None:
        if group.state != AVAILABLE or group.data_center_id != zone.data_center_id:
            raise serializers.ValidationError({"security_group_uuid": [
                f"security group {group.security_group_id or group.name} is not an Available group of the zone's "
                "data centre"]})
        if v_switch is not None and group.vpc_id != v_switch.vpc_id:
            raise serializers.ValidationError({"security_group_uuid": [
                f"security group {group.security_group_id} is not in the vSwitch's VPC {v_switch.vpc_id}"]})
        _same_as_given(data, "security_group_id", group.security_group_id, "security_group_uuid")
    return data


def _same_as_given(data, id_field, remote_id, uuid_field):
    if data.get(id_field) and data[id_field] != remote_id:
        raise serializers.ValidationError({uuid_field: [f"names {remote_id}, {id_field} names {data[id_field]}: "
                                                        "give one of them"]})
    data[id_field] = remote_id

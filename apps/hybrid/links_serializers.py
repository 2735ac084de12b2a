"""The API's shapes of Express Connect and VPN (H8, H9): VBRs, router interfaces, VPN gateways,
customer gateways, VPN connections, and the bodies of their actions and quick creates.

IKE and IPsec settings are typed fields (``ike_enc_alg``, ``ipsec_pfs``...), checked here against
what the cloud accepts and turned into the ``IkeConfig``/``IpsecConfig`` the SDK sends as JSON
(``ike_config``/``ipsec_config`` below). The pre-shared key (``psk``) and a customer gateway's
``auth_key`` are write-only, and encrypted as soon as they are validated: they travel in the job's
arguments, which are kept."""
import ipaddress

from rest_framework import serializers

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import BuiltOnceFieldsMixin, ResourceSerializer
from apps.core.secrets import encrypt

from .models import (AlibabaDataCenter, AlibabaVpc, CustomerGateway, RouterInterface, VirtualBorderRouter,
                     VpnConnection, VpnGateway)

SPECS = ["Mini.2", "Mini.5", "Small.1", "Small.2", "Small.5", "Middle.1", "Middle.2", "Middle.5", "Large.1",
         "Large.2", "Large.5", "Xlarge.1"]
VPN_BANDWIDTHS = [5, 10, 20, 50, 100, 200, 500, 1000]
ENC_ALGS = ["aes", "aes192", "aes256", "des", "3des", "sm4"]
AUTH_ALGS = ["md5", "sha1", "sha256", "sha384", "sha512", "sm3"]
IKE_PFS = ["group1", "group2", "group5", "group14"]
# the API's field -> (IkeConfig or IpsecConfig, the cloud's key)
CONFIG_KEYS = {
    "ike_version": ("IkeConfig", "IkeVersion"), "ike_mode": ("IkeConfig", "IkeMode"),
    "ike_enc_alg": ("IkeConfig", "IkeEncAlg"), "ike_auth_alg": ("IkeConfig", "IkeAuthAlg"),
    "ike_pfs": ("IkeConfig", "IkePfs"), "ike_lifetime": ("IkeConfig", "IkeLifetime"),
    "ike_local_id": ("IkeConfig", "LocalId"), "ike_remote_id": ("IkeConfig", "RemoteId"),
    "ipsec_enc_alg": ("IpsecConfig", "IpsecEncAlg"), "ipsec_auth_alg": ("IpsecConfig", "IpsecAuthAlg"),
    "ipsec_pfs": ("IpsecConfig", "IpsecPfs"), "ipsec_lifetime": ("IpsecConfig", "IpsecLifetime"),
}
CONNECTION_FLAGS = {"effect_immediately": "EffectImmediately", "enable_dpd": "EnableDpd",
                    "enable_nat_traversal": "EnableNatTraversal", "local_subnet": "LocalSubnet",
                    "remote_subnet": "RemoteSubnet", "name": "Name"}


def check_cidr(value):
    try:
        return str(ipaddress.IPv4Network(value.strip(), strict=False))
    except ValueError:
        raise serializers.ValidationError(f"'{value}' is not an IPv4 CIDR block (192.168.0.0/16)") from None


def check_cidrs(value):
    """Comma-separated CIDR blocks, as LocalSubnet and RemoteSubnet take them."""
    return ",".join(check_cidr(part) for part in value.split(",") if part.strip())


def check_public_ipv4(value):
    try:
        address = ipaddress.IPv4Address(value.strip())
    except ValueError:
        raise serializers.ValidationError(f"'{value}' is not an IPv4 address") from None
    if address.is_loopback or address.is_multicast or address.is_link_local or address.is_reserved:
        raise serializers.ValidationError(f"{address} cannot be a customer gateway's address")
    return str(address)


class MirroredSerializer(ResourceSerializer):
    """A row mirroring a resource of a data centre: its data centre and region with it. Everything
    but the description is the cloud's (read-only)."""

    data_center_uuid = serializers.UUIDField(source="data_center.uuid", read_only=True)
    region_id = serializers.CharField(source="data_center.region_id", read_only=True)
    time_zone = serializers.CharField(source="data_center.time_zone", read_only=True,
                                      help_text="the data centre's: how its times are shown")
    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)

    DATA_CENTER_FIELDS = ["data_center_uuid", "region_id", "time_zone", "account_uuid"]


def read_only_but_description(fields):
    return [f for f in fields if f != "description"]


# --- Express Connect (H8) --------------------------------------------------------------------------
class VirtualBorderRouterSerializer(MirroredSerializer):
    class Meta(ResourceSerializer.Meta):
        model = VirtualBorderRouter
        fields = ResourceSerializer.Meta.fields + [
            "vbr_id", "state", "access_point_id", "physical_connection_id", "circuit_code", "vlan_id",
            "local_gateway_ip", "peer_gateway_ip", "peering_subnet_mask", "route_table_id", "bandwidth",
            "remote_created_at", *MirroredSerializer.DATA_CENTER_FIELDS]
        read_only_fields = read_only_but_description(fields)


class RouterInterfaceSerializer(MirroredSerializer):
    virtual_border_router_uuid = serializers.UUIDField(source="virtual_border_router.uuid", read_only=True,
                                                       allow_null=True, default=None)

    class Meta(ResourceSerializer.Meta):
        model = RouterInterface
        fields = ResourceSerializer.Meta.fields + [
            "router_interface_id", "state", "role", "router_type", "router_id", "virtual_border_router_uuid", "spec",
            "bandwidth", "vpc_id", "access_point_id", "opposite_interface_id", "opposite_router_id",
            "opposite_router_type", "opposite_region_id", "opposite_vpc_id", "connected_at", "remote_created_at",
            *MirroredSerializer.DATA_CENTER_FIELDS]
        read_only_fields = read_only_but_description(fields)


class LinkVpcBody(serializers.Serializer):
    """``POST /virtual-border-routers/<uuid>/link-vpc/``: a link from this VBR to a VPC of its region,
    with routes both sides."""

    vpc_id = serializers.RegexField(r"^vpc-[0-9a-z]+$", max_length=64, required=False,
                                    help_text="the VPC's id in the cloud; or vpc_uuid",
                                    error_messages={"invalid": "a VPC id of the cloud (vpc-...)"})
    vpc_uuid = UuidRelatedField(source="vpc", queryset=AlibabaVpc.objects.all(), required=False,
                                help_text="a VPC the data centre's sync found (the console's choice)")
    idc_cidr = serializers.CharField(max_length=64,
                                     help_text="the on-premises network the VPC reaches through the link")
    vpc_cidr = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                     help_text="what the VBR routes to the VPC (default: its CIDR)")
    spec = serializers.ChoiceField(choices=SPECS, default="Large.1", help_text="the link's bandwidth class")
    name = serializers.CharField(max_length=128, required=False, default="cloudportal-link")

    def validate_idc_cidr(self, value):
        return check_cidr(value)

    def validate_vpc_cidr(self, value):
        return check_cidr(value) if value else value

    def validate(self, data):
        vpc = data.pop("vpc", None)   # a row: the job's arguments take its cloud id
        if vpc is not None:
            if data.get("vpc_id") and data["vpc_id"] != vpc.vpc_id:
                raise serializers.ValidationError({"vpc_id": [f"vpc_uuid names VPC {vpc.vpc_id}"]})
            if vpc.state != "Available" or not vpc.vpc_id:
                raise serializers.ValidationError({"vpc_uuid": [f"VPC {vpc.vpc_id or vpc.name} is {vpc.state}"]})
            data["vpc_id"], data["vpc_data_center_id"] = vpc.vpc_id, vpc.data_center_id
        elif not data.get("vpc_id"):
            raise serializers.ValidationError({"vpc_id": ["give vpc_id or vpc_uuid"]})
        return data


class LinkVpcForm(LinkVpcBody):
    """The console's form of the link: the VPC picked among the synced ones."""

    vpc_id = None


# --- VPN (H9) --------------------------------------------------------------------------------------
class VpnGatewaySerializer(MirroredSerializer):
    class Meta(ResourceSerializer.Meta):
        model = VpnGateway
        fields = ResourceSerializer.Meta.fields + [
            "vpn_gateway_id", "state", "vpc_id", "v_switch_id", "internet_ip", "spec", "network_type", "ipsec_vpn",
            "ssl_vpn", "charge_type", "business_status", "remote_created_at", *MirroredSerializer.DATA_CENTER_FIELDS]
        read_only_fields = read_only_but_description(fields)


class CustomerGatewaySerializer(MirroredSerializer):
    class Meta(ResourceSerializer.Meta):
        model = CustomerGateway
        fields = ResourceSerializer.Meta.fields + [
            "customer_gateway_id", "state", "ip_address", "asn", "remote_created_at",
            *MirroredSerializer.DATA_CENTER_FIELDS]
        read_only_fields = read_only_but_description(fields)


class VpnConnectionSerializer(MirroredSerializer):
    vpn_gateway_uuid = serializers.UUIDField(source="gateway.uuid", read_only=True, allow_null=True, default=None)
    customer_gateway_uuid = serializers.UUIDField(source="customer.uuid", read_only=True, allow_null=True,
                                                  default=None)

    class Meta(ResourceSerializer.Meta):
        model = VpnConnection
        fields = ResourceSerializer.Meta.fields + [
            "vpn_connection_id", "state", "vpn_gateway_id", "customer_gateway_id", "vpn_gateway_uuid",
            "customer_gateway_uuid", "local_subnet", "remote_subnet", "effect_immediately", "enable_dpd",
            "enable_nat_traversal", *CONFIG_KEYS, "remote_created_at", *MirroredSerializer.DATA_CENTER_FIELDS]
        read_only_fields = read_only_but_description(fields)


def _settings_fields(required):
    """The typed IKE/IPsec settings and the connection's options (optional: the cloud's defaults)."""
    optional = {"required": False}
    return {
        "local_subnet": serializers.CharField(max_length=1024, required=required, validators=[check_cidrs],
                                              help_text="the VPC side's CIDR blocks, comma-separated"),
        "remote_subnet": serializers.CharField(max_length=1024, required=required, validators=[check_cidrs],
                                               help_text="the on-premises CIDR blocks, comma-separated"),
        "effect_immediately": serializers.BooleanField(
            **optional, help_text="negotiate now (else when traffic from the data centre arrives)"),
        "enable_dpd": serializers.BooleanField(**optional, help_text="dead peer detection"),
        "enable_nat_traversal": serializers.BooleanField(**optional),
        "psk": serializers.CharField(**optional, write_only=True, min_length=1, max_length=100,
                                     style={"input_type": "password"},
                                     help_text="the pre-shared key (generated by the cloud when not given)"),
        "ike_version": serializers.ChoiceField(choices=["ikev1", "ikev2"], **optional),
        "ike_mode": serializers.ChoiceField(choices=["main", "aggressive"], **optional),
        "ike_enc_alg": serializers.ChoiceField(choices=ENC_ALGS, **optional),
        "ike_auth_alg": serializers.ChoiceField(choices=AUTH_ALGS, **optional),
        "ike_pfs": serializers.ChoiceField(choices=IKE_PFS, **optional),
        "ike_lifetime": serializers.IntegerField(min_value=0, max_value=86400, **optional, help_text="seconds"),
        "ike_local_id": serializers.CharField(max_length=100, **optional),
        "ike_remote_id": serializers.CharField(max_length=100, **optional),
        "ipsec_enc_alg": serializers.ChoiceField(choices=ENC_ALGS, **optional),
        "ipsec_auth_alg": serializers.ChoiceField(choices=AUTH_ALGS, **optional),
        "ipsec_pfs": serializers.ChoiceField(choices=[*IKE_PFS, "disabled"], **optional),
        "ipsec_lifetime": serializers.IntegerField(min_value=0, max_value=86400, **optional, help_text="seconds"),
    }


class ConnectionSettings(BuiltOnceFieldsMixin, serializers.Serializer):
    """What a create and a modify of a connection both take."""

    subnets_required = True

    def get_fields(self):
        fields = super().get_fields()
        fields.update(_settings_fields(self.subnets_required))
        return fields

    def validate(self, data):
        for field in ("local_subnet", "remote_subnet"):
            if field in data:
                data[field] = check_cidrs(data[field])   # as the cloud writes them: "a/n,b/m"
        if data.get("psk"):
            data["psk"] = encrypt(data["psk"])
        return data


def connection_params(data):
    """The cloud's parameters of a connection's create or modify (only what ``data`` gives):
    the options, and IkeConfig/IpsecConfig as dicts (the flow sends them as JSON, with the PSK)."""
    params = {cloud: data[field] for field, cloud in CONNECTION_FLAGS.items() if field in data}
    for field, (group, key) in CONFIG_KEYS.items():
        if data.get(field) not in (None, ""):
            params.setdefault(group, {})[key] = data[field]
    return params


class VpnConnectionCreateSerializer(ConnectionSettings):
    """``POST /vpn-connections/``: a connection between a VPN gateway and a customer gateway of one
    data centre."""

    name = serializers.CharField(max_length=128)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    vpn_gateway_uuid = UuidRelatedField(source="gateway", queryset=VpnGateway.objects.all())
    customer_gateway_uuid = UuidRelatedField(source="customer", queryset=CustomerGateway.objects.all())

    class Meta:
        model = VpnConnection

    def validate(self, data):
        gateway, customer = data["gateway"], data["customer"]
        if gateway.data_center_id != customer.data_center_id:
            raise serializers.ValidationError({"customer_gateway_uuid": [
                "the customer gateway is of another data centre than the VPN gateway"]})
        for field, row, key in (("vpn_gateway_uuid", gateway, "vpn_gateway_id"),
                                ("customer_gateway_uuid", customer, "customer_gateway_id")):
            if not getattr(row, key) or row.state == "Deleted":
                raise serializers.ValidationError({field: [f"it is {row.state}: it has no resource in the cloud"]})
        return super().validate(data)


class VpnConnectionModifyBody(ConnectionSettings):
    """``POST /vpn-connections/<uuid>/modify/``: what changes (IKE/IPsec keys not given keep their values)."""

    subnets_required = False
    name = serializers.CharField(max_length=128, required=False)

    def validate(self, data):
        data = super().validate(data)
        if not data:
            raise serializers.ValidationError("give at least one setting to change")
        return data


class CustomerGatewayCreateSerializer(BuiltOnceFieldsMixin, serializers.Serializer):
    """``POST /customer-gateways/``: the on-premises end of VPN connections (its public address)."""

    name = serializers.CharField(max_length=128)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=256)
    data_center_uuid = UuidRelatedField(source="data_center", queryset=AlibabaDataCenter.objects.all())
    ip_address = serializers.CharField(max_length=64, validators=[check_public_ipv4])
    asn = serializers.RegexField(r"^\d+(\.\d+)?$", max_length=32, required=False, allow_blank=True, default="",
                                 help_text="the data centre's BGP AS number")
    auth_key = serializers.CharField(required=False, allow_blank=True, default="", write_only=True, max_length=64,
                                     style={"input_type": "password"}, help_text="the BGP authentication key")

    class Meta:
        model = CustomerGateway

    def validate(self, data):
        data["ip_address"] = check_public_ipv4(data["ip_address"])
        if data.get("auth_key"):
            data["auth_key"] = encrypt(data["auth_key"])
        return data


def customer_gateway_params(data):
    params = {"IpAddress": data["ip_address"], "Name": data["name"], "Description": data.get("description", "")}
    if data.get("asn"):
        params["Asn"] = data["asn"]
    return params


class CustomerGatewayRenameBody(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    description = serializers.CharField(required=False, allow_blank=True, max_length=256)


class VpnQuickCreateSerializer(ConnectionSettings):
    """``POST /vpn-connections/quick-create/``: a VPN gateway in a VPC, a customer gateway and the
    connection between them, in one flow that undoes everything when a step fails."""

    name = serializers.CharField(max_length=128, help_text="the connection's; the gateways are named after it")
    data_center_uuid = UuidRelatedField(source="data_center", queryset=AlibabaDataCenter.objects.all())
    vpc_id = serializers.RegexField(r"^vpc-[0-9a-z]+$", max_length=64,
                                    error_messages={"invalid": "a VPC id of the cloud (vpc-...)"})
    v_switch_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="",
                                        help_text="default: the VPC's first vSwitch")
    bandwidth = serializers.ChoiceField(choices=VPN_BANDWIDTHS, default=10, help_text="Mbit/s")
    customer_gateway_ip = serializers.CharField(max_length=64, validators=[check_public_ipv4])
    asn = serializers.RegexField(r"^\d+(\.\d+)?$", max_length=32, required=False, allow_blank=True, default="")

    class Meta:
        model = VpnConnection

    def validate(self, data):
        data["customer_gateway_ip"] = check_public_ipv4(data["customer_gateway_ip"])
        return super().validate(data)

"""Express Connect (VBRs, router interfaces) and VPN (gateways, customer gateways, connections): H8, H9."""
from ..models import CustomerGateway, RouterInterface, VirtualBorderRouter, VpnConnection, VpnGateway, VpnState
from .base import RemoteKind, cloud_time, epoch_ms, tagged_by_portal


def _rows_by(model, column):
    def read(sync):
        return dict(model.objects.filter(data_center=sync.data_center).exclude(**{f"{column}__isnull": True})
                    .values_list(column, "pk"))
    return read


class VirtualBorderRouters(RemoteKind):
    model = VirtualBorderRouter
    remote_key, local_key = "VbrId", "vbr_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["VbrId"],
        "description": "Description",
        "state": "Status",
        "access_point_id": "AccessPointId",
        "physical_connection_id": "PhysicalConnectionId",
        "circuit_code": "CircuitCode",
        "vlan_id": lambda item, sync: int(item.get("VlanId") or 0),
        "local_gateway_ip": "LocalGatewayIp",
        "peer_gateway_ip": "PeerGatewayIp",
        "peering_subnet_mask": "PeeringSubnetMask",
        "route_table_id": "RouteTableId",
        "bandwidth": lambda item, sync: int(item.get("Bandwidth") or 0),
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    import_only = ("description",)   # PATCH changes it here

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeVirtualBorderRouters", {},
                                     "VirtualBorderRouterSet.VirtualBorderRouterType")


class RouterInterfaces(RemoteKind):
    model = RouterInterface
    remote_key, local_key = "RouterInterfaceId", "router_interface_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["RouterInterfaceId"],
        "description": "Description",
        "state": "Status",
        "role": "Role",
        "router_type": "RouterType",
        "router_id": "RouterId",
        "virtual_border_router_id": lambda item, sync: sync.lookups["vbrs"].get(item.get("RouterId")),
        "spec": "Spec",
        "bandwidth": lambda item, sync: int(item.get("Bandwidth") or 0),
        "vpc_id": "VpcInstanceId",
        "access_point_id": "AccessPointId",
        "opposite_interface_id": "OppositeInterfaceId",
        "opposite_router_id": "OppositeRouterId",
        "opposite_router_type": "OppositeRouterType",
        "opposite_region_id": "OppositeRegionId",
        "opposite_vpc_id": "OppositeVpcInstanceId",
        "connected_at": lambda item, sync: cloud_time(item.get("ConnectedTime")),
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    import_only = ("description",)   # PATCH changes it here

    def prepare(self, sync):
        sync.lookups["vbrs"] = _rows_by(VirtualBorderRouter, "vbr_id")(sync)

    def created_by(self, item):
        return tagged_by_portal(item, "Tags.Tags", "Tags.Tag")

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeRouterInterfaces", {}, "RouterInterfaceSet.RouterInterfaceType")


class VpnGateways(RemoteKind):
    model = VpnGateway
    remote_key, local_key = "VpnGatewayId", "vpn_gateway_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["VpnGatewayId"],
        "description": "Description",
        "state": "Status",
        "vpc_id": "VpcId",
        "v_switch_id": "VSwitchId",
        "internet_ip": "InternetIp",
        "spec": "Spec",
        "network_type": "NetworkType",
        "ipsec_vpn": "IpsecVpn",
        "ssl_vpn": "SslVpn",
        "charge_type": "ChargeType",
        "business_status": "BusinessStatus",
        "remote_created_at": lambda item, sync: epoch_ms(item.get("CreateTime")),
    }
    import_only = ("description",)   # PATCH changes it here
    deleted_state = VpnState.DELETED

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeVpnGateways", {}, "VpnGateways.VpnGateway")


class CustomerGateways(RemoteKind):
    model = CustomerGateway
    remote_key, local_key = "CustomerGatewayId", "customer_gateway_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["CustomerGatewayId"],
        "description": "Description",
        "state": lambda item, sync: VpnState.AVAILABLE,
        "ip_address": "IpAddress",
        "asn": lambda item, sync: str(item.get("Asn") or ""),
        "remote_created_at": lambda item, sync: epoch_ms(item.get("CreateTime")),
    }
    import_only = ("description",)   # PATCH changes it here
    deleted_state = VpnState.DELETED

    def created_by(self, item):
        return tagged_by_portal(item, "Tags.Tag", "Tag.Tag")

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeCustomerGateways", {}, "CustomerGateways.CustomerGateway")


def _config(group, key, number=False):
    """A key of the connection's ``IkeConfig``/``IpsecConfig`` (``group``)."""
    def read(item, sync):
        value = (item.get(group) or {}).get(key)
        if number:
            return int(value or 0)
        return "" if value is None else str(value)
    return read


class VpnConnections(RemoteKind):
    model = VpnConnection
    remote_key, local_key = "VpnConnectionId", "vpn_connection_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["VpnConnectionId"],
        "state": "Status",
        "vpn_gateway_id": "VpnGatewayId",
        "customer_gateway_id": "CustomerGatewayId",
        "gateway_id": lambda item, sync: sync.lookups["vpn_gateways"].get(item.get("VpnGatewayId")),
        "customer_id": lambda item, sync: sync.lookups["customer_gateways"].get(
            item.get("CustomerGatewayId")),
        "local_subnet": "LocalSubnet",
        "remote_subnet": "RemoteSubnet",
        "effect_immediately": lambda item, sync: bool(item.get("EffectImmediately")),
        "enable_dpd": lambda item, sync: bool(item.get("EnableDpd")),
        "enable_nat_traversal": lambda item, sync: bool(item.get("EnableNatTraversal")),
        "ike_version": _config("IkeConfig", "IkeVersion"),
        "ike_mode": _config("IkeConfig", "IkeMode"),
        "ike_enc_alg": _config("IkeConfig", "IkeEncAlg"),
        "ike_auth_alg": _config("IkeConfig", "IkeAuthAlg"),
        "ike_pfs": _config("IkeConfig", "IkePfs"),
        "ike_lifetime": _config("IkeConfig", "IkeLifetime", number=True),
        "ike_local_id": _config("IkeConfig", "LocalId"),
        "ike_remote_id": _config("IkeConfig", "RemoteId"),
        "ipsec_enc_alg": _config("IpsecConfig", "IpsecEncAlg"),
        "ipsec_auth_alg": _config("IpsecConfig", "IpsecAuthAlg"),
        "ipsec_pfs": _config("IpsecConfig", "IpsecPfs"),
        "ipsec_lifetime": _config("IpsecConfig", "IpsecLifetime", number=True),
        "remote_created_at": lambda item, sync: epoch_ms(item.get("CreateTime")),
    }
    deleted_state = VpnState.DELETED

    def prepare(self, sync):
        sync.lookups["vpn_gateways"] = _rows_by(VpnGateway, "vpn_gateway_id")(sync)
        sync.lookups["customer_gateways"] = _rows_by(CustomerGateway, "customer_gateway_id")(sync)

    def created_by(self, item):
        return tagged_by_portal(item, "Tag.Tag", "Tags.Tag")

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeVpnConnections", {}, "VpnConnections.VpnConnection")


VIRTUAL_BORDER_ROUTERS = VirtualBorderRouters()
ROUTER_INTERFACES = RouterInterfaces()
VPN_GATEWAYS = VpnGateways()
CUSTOMER_GATEWAYS = CustomerGateways()
VPN_CONNECTIONS = VpnConnections()
# interfaces look up their VBRs, connections their gateways

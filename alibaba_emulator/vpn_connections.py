"""IPsec-VPN connections: CreateVpnConnection, DescribeVpnConnections, DescribeVpnConnection,
ModifyVpnConnectionAttribute, DeleteVpnConnection. Single-tunnel mode takes a customer gateway and
JSON IkeConfig/IpsecConfig; dual-tunnel mode takes TunnelOptionsSpecification (a form body)."""
from . import idempotency, vpn_customer_gateways, vpn_gateways
from . import vpn_connection_model as model
from .errors import ApiError, invalid_parameter, missing_parameter, quota_exceeded
from .paging import by_page_number
from .registry import action
from .timestamps import creation_order
from .vpc_filters import has_tags, requested_tags
from .vpn_ipsec_configs import (bgp_config, health_check, ike_config, ipsec_config, parse_json_object, subnets,
                                tunnel_options)

DEFAULT_MAX_CONNECTIONS_PER_GATEWAY = 10   # unless /_emulator/quotas sets max_vpn_connections_per_gateway
TUNNEL_ROLES = ("master", "slave")
# parameters whose change makes the two ends negotiate again
NEGOTIATED = ("IkeConfig", "IpsecConfig", "LocalSubnet", "RemoteSubnet", "EnableDpd", "EnableNatTraversal",
              "BgpConfig", "TunnelOptionsSpecification", "RemoteCaCertificate")


def _usable_gateway(call, gateway_id):
    gateway = vpn_gateways.find(call, gateway_id)
    vpn_gateways.require_active(gateway)
    if gateway["IpsecVpn"] != "enable":
        raise ApiError(403, "OperationFailed.IpsecVpnDisabled",
                       f"IPsec-VPN is not enabled on the VPN gateway \"{gateway_id}\".")
    limit = call.quota("max_vpn_connections_per_gateway") or DEFAULT_MAX_CONNECTIONS_PER_GATEWAY
    if sum(1 for c in call.table(model.TABLE).values() if c["VpnGatewayId"] == gateway_id) >= limit:
        raise quota_exceeded("QuotaExceeded.VpnConnection",
                             f"The VPN gateway \"{gateway_id}\" has reached its quota of {limit} connections.")
    return gateway


def _tunnels(call, gateway, given, current_tunnels=None):
    """The two tunnels of a dual-tunnel connection, checked and completed."""
    if len(given) != 2 or sorted(t.get("Role", "") for t in given) != sorted(TUNNEL_ROLES):
        raise invalid_parameter("TunnelOptionsSpecification", code="InvalidParameter.TunnelOptions")
    if gateway["GatewayType"] != "Enhanced.SiteToSite":
        raise ApiError(403, "OperationFailed.DualTunnelNotSupported",
                       f"The VPN gateway \"{gateway['VpnGatewayId']}\" does not support dual-tunnel connections.")
    by_role = {t["Role"]: t for t in current_tunnels or []}
    tunnels = []
    for index, spec in enumerate(sorted(given, key=lambda t: TUNNEL_ROLES.index(t["Role"])), start=1):
        prefix = f"TunnelOptionsSpecification.{index}"
        current = by_role.get(spec["Role"], {})
        customer = vpn_customer_gateways.find(call, spec.get("CustomerGatewayId") or current.get("CustomerGatewayId")
                                              or "")
        address = gateway["InternetIp"] if spec["Role"] == "master" else gateway["DisasterRecoveryInternetIp"]
        ike = ike_config(spec.get("TunnelIkeConfig", {}), _as_given(current.get("TunnelIkeConfig")), address,
                         customer["IpAddress"], prefix=f"{prefix}.TunnelIkeConfig")
        ipsec = ipsec_config(spec.get("TunnelIpsecConfig", {}), _as_given(current.get("TunnelIpsecConfig")),
                             prefix=f"{prefix}.TunnelIpsecConfig")
        bgp = bgp_config(spec.get("TunnelBgpConfig", {}), {}, customer.get("Asn") or 0,
                         prefix=f"{prefix}.TunnelBgpConfig")
        tunnels.append({
            "TunnelId": current.get("TunnelId") or call.emulator.new_id("tun"),
            "TunnelIndex": index,
            "Role": spec["Role"],
            "CustomerGatewayId": customer["CustomerGatewayId"],
            "InternetIp": address,
            "EnableDpd": spec.get("EnableDpd", current.get("EnableDpd", "true")).lower(),
            "EnableNatTraversal": spec.get("EnableNatTraversal", current.get("EnableNatTraversal", "true")).lower(),
            "RemoteCaCertificate": spec.get("RemoteCaCertificate", ""),
            "State": "active",
            "Status": model.NOT_ESTABLISHED,
            "ZoneNo": "",
            # inside a tunnel the real answer gives every value as a string
            "TunnelIkeConfig": {k: str(v) for k, v in ike.items()},
            "TunnelIpsecConfig": {k: str(v) for k, v in ipsec.items()},
            "TunnelBgpConfig": {"LocalAsn": str(bgp["LocalAsn"]), "LocalBgpIp": bgp["LocalBgpIp"],
                                "PeerAsn": str(bgp["PeerAsn"]), "PeerBgpIp": bgp["PeerBgpIp"],
                                "TunnelCidr": bgp["TunnelCidr"], "BgpStatus": ""},
        })
    return tunnels


def _as_given(config):
    return dict(config) if config else {}


@action("Vpc", "CreateVpnConnection")
def create_vpn_connection(call):
    earlier = idempotency.replay(call)   # a retried create with the same ClientToken
    if earlier is not None:
        return earlier
    p = call.params
    gateway = _usable_gateway(call, p.str("VpnGatewayId", required=True))
    local_subnet = subnets(p, "LocalSubnet")
    remote_subnet = subnets(p, "RemoteSubnet")
    given_tunnels = tunnel_options(p)
    if given_tunnels:
        tunnels = _tunnels(call, gateway, given_tunnels)
        customer = {"CustomerGatewayId": "", "IpAddress": "", "Asn": 0}
    else:
        if "CustomerGatewayId" not in p:
            raise missing_parameter("CustomerGatewayId")
        customer = vpn_customer_gateways.find(call, p.str("CustomerGatewayId"))
        tunnels = []
    ike = ike_config(parse_json_object(p, "IkeConfig"), {}, gateway["InternetIp"], customer["IpAddress"])
    ipsec = ipsec_config(parse_json_object(p, "IpsecConfig"), {})
    bgp = bgp_config(parse_json_object(p, "BgpConfig"), {}, customer.get("Asn") or 0)
    vco = health_check(parse_json_object(p, "HealthCheckConfig"), {})
    tags = requested_tags(p, "Tags")
    name = p.str("Name")
    if name is not None and (len(name) > 100 or name.startswith(("http://", "https://"))):
        raise invalid_parameter("Name", name)
    if p.bool("DryRun"):
        raise ApiError(400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")

    connection_id = call.emulator.new_id("vco")
    now = call.now()
    record = {
        "VpnConnectionId": connection_id,
        "Name": name or connection_id,
        "VpnGatewayId": gateway["VpnGatewayId"],
        "CustomerGatewayId": customer["CustomerGatewayId"],
        "LocalSubnet": local_subnet,
        "RemoteSubnet": remote_subnet,
        "CreateTime": int(now * 1000),
        "EffectImmediately": p.bool("EffectImmediately", default=False),
        "EnableDpd": p.bool("EnableDpd", default=True),
        "EnableNatTraversal": p.bool("EnableNatTraversal", default=True),
        "EnableTunnelsBgp": p.bool("EnableTunnelsBgp", default=False),
        "Status": model.NOT_ESTABLISHED,
        "State": "",
        "AttachType": "VPNGW",
        "AttachInstanceId": "",
        "NetworkType": gateway["NetworkType"],
        "InternetIp": gateway["InternetIp"],
        "Spec": gateway["Spec"],
        "TunnelBandwidth": "",
        "RemoteCaCertificate": p.str("RemoteCaCertificate", default=""),
        "ResourceGroupId": gateway["ResourceGroupId"],
        "CrossAccountAuthorized": False,
        "TransitRouterId": "",
        "TransitRouterName": "",
        "ZoneNo": "",
        "VcoHealthCheck": vco,
        "VpnBgpConfig": bgp,
        "TunnelOptionsSpecification": {"TunnelOptions": tunnels},
        "Tags": {"Tag": tags},
        "_created": now,
        # kept, not answered: the real service adds routes to the VPC when this is true
        "_auto_config_route": p.bool("AutoConfigRoute", default=True),
    }
    if not tunnels:
        record["IkeConfig"] = ike
        record["IpsecConfig"] = ipsec
    call.table(model.TABLE)[connection_id] = record
    model.negotiate(call, record)
    return idempotency.remember(call, {"VpnConnectionId": connection_id, "Name": record["Name"],
                                       "CreateTime": record["CreateTime"]})


@action("Vpc", "DescribeVpnConnections")
def describe_vpn_connections(call):
    p = call.params
    wanted = {field: p.str(field) for field in ("VpnGatewayId", "CustomerGatewayId", "VpnConnectionId")}
    rows = creation_order([r for r in call.table(model.TABLE).values()
                           if all(value is None or r[field] == value for field, value in wanted.items())
                           and has_tags(r["Tags"]["Tag"], p, "Tag")], "VpnConnectionId")
    page, info = by_page_number(rows, p, default_size=10, max_size=50)
    return {"VpnConnections": {"VpnConnection": [model.render(r, tags_key="Tag") for r in page]}, **info}


@action("Vpc", "DescribeVpnConnection")
def describe_vpn_connection(call):
    return model.render(model.find(call, call.params.str("VpnConnectionId", required=True)))


@action("Vpc", "ModifyVpnConnectionAttribute")
def modify_vpn_connection_attribute(call):
    p = call.params
    record = model.find(call, p.str("VpnConnectionId", required=True))
    gateway = vpn_gateways.find(call, record["VpnGatewayId"])
    changes = {}
    if "Name" in p:
        name = p.str("Name")
        if len(name) > 100 or name.startswith(("http://", "https://")):
            raise invalid_parameter("Name", name)
        changes["Name"] = name
    changes["LocalSubnet"] = subnets(p, "LocalSubnet", current=record["LocalSubnet"])
    changes["RemoteSubnet"] = subnets(p, "RemoteSubnet", current=record["RemoteSubnet"])
    for flag in ("EffectImmediately", "EnableDpd", "EnableNatTraversal", "EnableTunnelsBgp"):
        if flag in p:
            changes[flag] = p.bool(flag)
    if "AutoConfigRoute" in p:
        changes["_auto_config_route"] = p.bool("AutoConfigRoute")
    if "RemoteCaCertificate" in p:
        changes["RemoteCaCertificate"] = p.str("RemoteCaCertificate")
    customer_ip = (vpn_customer_gateways.find(call, record["CustomerGatewayId"])["IpAddress"]
                   if record["CustomerGatewayId"] else "")
    if "IkeConfig" in record:
        changes["IkeConfig"] = ike_config(parse_json_object(p, "IkeConfig"), record["IkeConfig"],
                                          gateway["InternetIp"], customer_ip)
        changes["IpsecConfig"] = ipsec_config(parse_json_object(p, "IpsecConfig"), record["IpsecConfig"])
    if "BgpConfig" in p:
        changes["VpnBgpConfig"] = bgp_config(parse_json_object(p, "BgpConfig"), record["VpnBgpConfig"],
                                             record["VpnBgpConfig"].get("PeerAsn", 0))
    if "HealthCheckConfig" in p:
        changes["VcoHealthCheck"] = health_check(parse_json_object(p, "HealthCheckConfig"), record["VcoHealthCheck"])
    given_tunnels = tunnel_options(p)
    if given_tunnels:
        if not record["TunnelOptionsSpecification"]["TunnelOptions"]:
            raise invalid_parameter("TunnelOptionsSpecification", code="InvalidParameter.TunnelOptions")
        changes["TunnelOptionsSpecification"] = {"TunnelOptions": _tunnels(
            call, gateway, given_tunnels, record["TunnelOptionsSpecification"]["TunnelOptions"])}
    renegotiate = any(name in p for name in NEGOTIATED) or bool(given_tunnels) or (
        changes.get("EffectImmediately") and not record["EffectImmediately"])
    record.update(changes)
    if renegotiate:
        model.negotiate(call, record)
    answer = model.render(record)
    keep = ("CreateTime", "CustomerGatewayId", "Description", "EffectImmediately", "EnableDpd", "EnableNatTraversal",
            "EnableTunnelsBgp", "IkeConfig", "IpsecConfig", "LocalSubnet", "Name", "RemoteSubnet", "ResourceGroupId",
            "TunnelOptionsSpecification", "VcoHealthCheck", "VpnBgpConfig", "VpnConnectionId", "VpnGatewayId")
    return {key: answer[key] for key in keep if key in answer}


@action("Vpc", "DeleteVpnConnection")
def delete_vpn_connection(call):
    record = model.find(call, call.params.str("VpnConnectionId", required=True))
    del call.table(model.TABLE)[record["VpnConnectionId"]]
    return {}

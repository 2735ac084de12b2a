"""VPN gateways: CreateVpnGateway, DescribeVpnGateways, DescribeVpnGateway, DeleteVpnGateway.
A new gateway is `init`, then `provisioning`, then `active` with its public (or, for a private
gateway, VPC) address, over seconds as the real service shows it; deleting goes through `deleting`."""
import ipaddress
import json
import secrets

from . import idempotency
from .errors import ApiError, incorrect_status, invalid_parameter, not_found, quota_exceeded
from .paging import by_page_number
from .registry import action
from .resource_groups import resource_group
from .timestamps import creation_order
from .vpc_filters import has_tags
from .state import public
from .vpc_references import find_vpc, find_vswitch, vswitches_of

TABLE = "vpn_gateways"
BANDWIDTHS = (5, 10, 20, 50, 100, 200, 500, 1000)
PRIVATE_BANDWIDTHS = (200, 1000)
SSL_CONNECTIONS = (5, 10, 20, 50, 100, 200, 500, 1000)
DEFAULT_MAX_VPN_GATEWAYS = 20      # per account and region unless /_emulator/quotas sets max_vpn_gateways
# the labels the real service puts on a current-generation gateway
SYSTEM_TAG = json.dumps({"VpnEnableBgp": "true", "VisuallySsl": "true", "PbrPriority": "true",
                         "VpnNewImage": "true", "VpnVersion": "v1.2.4"}, separators=(",", ":"))


def find(call, gateway_id):
    record = call.table(TABLE).get(gateway_id)
    if record is None:
        raise not_found("InvalidVpnGatewayInstanceId.NotFound", "VpnGatewayId", gateway_id)
    return record


def require_active(record):
    if record["Status"] != "active":
        raise incorrect_status("VPN gateway", record["VpnGatewayId"], record["Status"],
                               code="IncorrectStatus.VpnGateway")


def _public_address():
    # 47.x: the block Alibaba Cloud's public addresses come from in most regions
    return f"47.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


def _private_address(vswitch):
    try:
        network = ipaddress.IPv4Network(vswitch.get("CidrBlock") or "")
    except ValueError:
        return "172.16.0.250"
    return str(network.network_address + max(1, network.num_addresses - 4))


@action("Vpc", "CreateVpnGateway")
def create_vpn_gateway(call):
    earlier = idempotency.replay(call)   # a retried create with the same ClientToken
    if earlier is not None:
        return earlier
    p = call.params
    vpc = find_vpc(call, p.str("VpcId", required=True))
    network_type = p.str("NetworkType", default="public", choices=("public", "private"))
    bandwidth = p.int("Bandwidth", required=True)
    if bandwidth not in (PRIVATE_BANDWIDTHS if network_type == "private" else BANDWIDTHS):
        raise invalid_parameter("Bandwidth", bandwidth, code="InvalidBandwidth.NotSupported")
    if "VSwitchId" in p:
        vswitch = find_vswitch(call, p.str("VSwitchId"), vpc["VpcId"])
    else:
        # the service picks a vSwitch of the VPC when none is named
        candidates = vswitches_of(call, vpc["VpcId"])
        vswitch = candidates[0] if candidates else {"VSwitchId": "", "CidrBlock": ""}
    recovery_vswitch = (find_vswitch(call, p.str("DisasterRecoveryVSwitchId"), vpc["VpcId"])
                        if "DisasterRecoveryVSwitchId" in p else None)
    enable_ipsec = p.bool("EnableIpsec", default=True)
    enable_ssl = p.bool("EnableSsl", default=False)
    ssl_connections = p.int("SslConnections", default=5)
    if ssl_connections not in SSL_CONNECTIONS:
        raise invalid_parameter("SslConnections", ssl_connections)
    charge_type = p.str("InstanceChargeType", default="POSTPAY", choices=("POSTPAY", "PREPAY"))
    period = p.int("Period", default=1, minimum=1, maximum=36) if charge_type == "PREPAY" else None
    name = p.str("Name")
    if name is not None and (not 2 <= len(name) <= 100 or name.startswith(("http://", "https://"))):
        raise invalid_parameter("Name", name)
    limit = call.quota("max_vpn_gateways") or DEFAULT_MAX_VPN_GATEWAYS
    if len(call.table(TABLE)) >= limit:
        raise quota_exceeded("QuotaExceeded.VpnGateway",
                             f"The number of VPN gateways in the region has reached the quota ({limit}).")

    gateway_id = call.emulator.new_id("vpn")
    now = call.now()
    created_ms = int(now * 1000)
    address = _public_address() if network_type == "public" else _private_address(vswitch)
    record = {
        "VpnGatewayId": gateway_id,
        "Name": name or gateway_id,
        "Description": "",
        "VpcId": vpc["VpcId"],
        "VSwitchId": vswitch["VSwitchId"],
        "DisasterRecoveryVSwitchId": recovery_vswitch["VSwitchId"] if recovery_vswitch else "",
        "DisasterRecoveryInternetIp": "",
        "Status": "init",
        "BusinessStatus": "Normal",
        "ChargeType": charge_type,
        "CreateTime": created_ms,
        "EndTime": created_ms + period * 30 * 86400 * 1000 if period else 0,
        "InternetIp": "",
        "SslVpnInternetIp": "",
        "Spec": f"{bandwidth}M",
        "IpsecVpn": "enable" if enable_ipsec else "disable",
        "SslVpn": "enable" if enable_ssl else "disable",
        "SslMaxConnections": ssl_connections if enable_ssl else 0,
        "NetworkType": network_type,
        "VpnType": p.str("VpnType", default="Normal", choices=("Normal", "NationalStandard")),
        "GatewayType": "Enhanced.SiteToSite" if recovery_vswitch else "Traditional",
        "EnableBgp": False,
        "AutoPropagate": False,
        "Tag": SYSTEM_TAG,
        "Tags": {"Tag": []},
        "EniInstanceIds": {"EniInstanceId": []},
        "ResourceGroupId": resource_group(call),
        "_created": now,
    }
    call.table(TABLE)[gateway_id] = record
    active = {"Status": "active", "InternetIp": address,
              "EniInstanceIds": {"EniInstanceId": [call.emulator.new_id("eni"), call.emulator.new_id("eni")]}}
    if recovery_vswitch:
        active["DisasterRecoveryInternetIp"] = (_public_address() if network_type == "public"
                                                else _private_address(recovery_vswitch))
    call.schedule(TABLE, gateway_id, [{"Status": "provisioning"}, active])
    answer = {"VpnGatewayId": gateway_id, "Name": record["Name"]}
    if charge_type == "PREPAY":
        answer["OrderId"] = int("".join(secrets.choice("0123456789") for _ in range(15)))
    return idempotency.remember(call, answer)


@action("Vpc", "DescribeVpnGateways")
def describe_vpn_gateways(call):
    p = call.params
    wanted = {field: p.str(param) for param, field in (("VpcId", "VpcId"), ("VpnGatewayId", "VpnGatewayId"),
                                                       ("Status", "Status"), ("BusinessStatus", "BusinessStatus"))}
    rows = creation_order([r for r in call.table(TABLE).values()
                           if all(value is None or r[field] == value for field, value in wanted.items())
                           and has_tags(r["Tags"]["Tag"], p, "Tag")], "VpnGatewayId")
    page, info = by_page_number(rows, p, default_size=10, max_size=50)
    return {"VpnGateways": {"VpnGateway": [public(r) for r in page]}, **info}


@action("Vpc", "DescribeVpnGateway")
def describe_vpn_gateway(call):
    return public(find(call, call.params.str("VpnGatewayId", required=True)))


@action("Vpc", "DeleteVpnGateway")
def delete_vpn_gateway(call):
    record = find(call, call.params.str("VpnGatewayId", required=True))
    require_active(record)
    if any(c["VpnGatewayId"] == record["VpnGatewayId"] for c in call.table("vpn_connections").values()):
        raise ApiError(403, "DependencyViolation.VpnConnection",
                       f"The VPN gateway \"{record['VpnGatewayId']}\" still has IPsec-VPN connections.")
    record["Status"] = "deleting"
    call.schedule(TABLE, record["VpnGatewayId"], [{"_delete": True}])
    return {}

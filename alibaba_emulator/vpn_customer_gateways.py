"""Customer gateways: the on-premises VPN device as Alibaba knows it (its address and BGP ASN).
CreateCustomerGateway, DescribeCustomerGateways, DescribeCustomerGateway,
ModifyCustomerGatewayAttribute, DeleteCustomerGateway (refused while a connection uses it)."""
import ipaddress

from . import idempotency
from .errors import ApiError, invalid_parameter, not_found, quota_exceeded
from .paging import by_page_number
from .registry import action
from .resource_groups import resource_group
from .timestamps import creation_order
from .state import public
from .vpc_filters import has_tags, requested_tags
from .vpn_ipsec_configs import parse_asn

TABLE = "customer_gateways"
DEFAULT_MAX_CUSTOMER_GATEWAYS = 100   # per account and region unless max_customer_gateways is set
# addresses the documentation says a connection can never be established with
UNUSABLE = [ipaddress.IPv4Network(block) for block in
            ("100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.0.0.0/8", "0.0.0.0/8")]
ALIBABA_ASN = 45104


def find(call, gateway_id):
    record = call.table(TABLE).get(gateway_id)
    if record is None:
        raise not_found("InvalidCustomerGatewayInstanceId.NotFound", "CustomerGatewayId", gateway_id)
    return record


def _text(params, name, longest):
    value = params.str(name)
    if value is not None and (len(value) > longest or value.startswith(("http://", "https://"))):
        raise invalid_parameter(name, value)
    return value


def _auth_key(params):
    value = params.str("AuthKey")
    if value is not None and (len(value) > 64 or "?" in value or " " in value or not value.isascii()):
        raise invalid_parameter("AuthKey")
    return value


def _address(params):
    raw = params.str("IpAddress", required=True)
    try:
        address = ipaddress.IPv4Address(raw)
    except ValueError:
        raise invalid_parameter("IpAddress", raw, code="InvalidIpAddress.Malformed") from None
    if any(address in block for block in UNUSABLE):
        raise invalid_parameter("IpAddress", raw, code="InvalidIpAddress.NotSupported")
    return str(address)


@action("Vpc", "CreateCustomerGateway")
def create_customer_gateway(call):
    earlier = idempotency.replay(call)   # a retried create with the same ClientToken
    if earlier is not None:
        return earlier
    p = call.params
    address = _address(p)
    rows = call.table(TABLE)
    if any(r["IpAddress"] == address for r in rows.values()):
        raise ApiError(400, "InvalidIpAddress.AlreadyExist",
                       f"A customer gateway with the IP address \"{address}\" already exists.")
    asn = None
    if "Asn" in p:
        asn = parse_asn(p.str("Asn"), "Asn")
        if asn == ALIBABA_ASN:
            raise invalid_parameter("Asn", p.str("Asn"))
    tags = requested_tags(p, "Tags")
    limit = call.quota("max_customer_gateways") or DEFAULT_MAX_CUSTOMER_GATEWAYS
    if len(rows) >= limit:
        raise quota_exceeded("QuotaExceeded.CustomerGateway",
                             f"The number of customer gateways in the region has reached the quota ({limit}).")
    gateway_id = call.emulator.new_id("cgw")
    now = call.now()
    record = {
        "CustomerGatewayId": gateway_id,
        "Name": _text(p, "Name", 100) or "",
        "Description": _text(p, "Description", 100) or "",
        "IpAddress": address,
        "Asn": asn if asn is not None else "",
        "AuthKey": _auth_key(p) or "",
        "CreateTime": int(now * 1000),
        "ResourceGroupId": resource_group(call),
        "Tags": {"Tag": tags},
        "_created": now,
    }
    rows[gateway_id] = record
    return idempotency.remember(call, {key: record[key] for key in ("CustomerGatewayId", "Name", "Description",
                                                                    "IpAddress", "CreateTime")})


def _render(record):
    answer = public(record)
    # an ASN is a number when set; the real answer leaves the field out otherwise
    if answer.get("Asn") == "":
        del answer["Asn"]
    return answer


@action("Vpc", "DescribeCustomerGateways")
def describe_customer_gateways(call):
    wanted = call.params.str("CustomerGatewayId")
    rows = creation_order([r for r in call.table(TABLE).values()
                           if (wanted is None or r["CustomerGatewayId"] == wanted)
                           and has_tags(r["Tags"]["Tag"], call.params, "Tag")], "CustomerGatewayId")
    page, info = by_page_number(rows, call.params, default_size=10, max_size=50)
    return {"CustomerGateways": {"CustomerGateway": [_render(r) for r in page]}, **info}


@action("Vpc", "DescribeCustomerGateway")
def describe_customer_gateway(call):
    return _render(find(call, call.params.str("CustomerGatewayId", required=True)))


@action("Vpc", "ModifyCustomerGatewayAttribute")
def modify_customer_gateway_attribute(call):
    p = call.params
    record = find(call, p.str("CustomerGatewayId", required=True))
    changes = {"Name": _text(p, "Name", 100), "Description": _text(p, "Description", 100), "AuthKey": _auth_key(p)}
    record.update({name: value for name, value in changes.items() if value is not None})
    return {key: record[key] for key in ("CustomerGatewayId", "Name", "Description", "IpAddress", "CreateTime",
                                         "ResourceGroupId")}


@action("Vpc", "DeleteCustomerGateway")
def delete_customer_gateway(call):
    record = find(call, call.params.str("CustomerGatewayId", required=True))
    gateway_id = record["CustomerGatewayId"]
    for connection in call.table("vpn_connections").values():
        tunnels = connection.get("TunnelOptionsSpecification", {}).get("TunnelOptions", [])
        if connection.get("CustomerGatewayId") == gateway_id or any(
                t.get("CustomerGatewayId") == gateway_id for t in tunnels):
            raise ApiError(403, "DependencyViolation.VpnConnection",
                           f"The customer gateway \"{gateway_id}\" is used by the IPsec-VPN connection "
                           f"\"{connection['VpnConnectionId']}\".")
    del call.table(TABLE)[gateway_id]
    return {}

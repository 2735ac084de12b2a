"""VPC: CreateVpc (with its VRouter and system route table), DescribeVpcs, DescribeVpcAttribute,
ModifyVpcAttribute, DeleteVpc, DescribeVRouters. A VPC is Pending for a moment, then Available."""
import ipaddress

from . import cidr_blocks, resource_names, resource_tags, vpc_route_tables
from .client_tokens import idempotent
from .errors import ApiError, not_found, quota_exceeded
from .paging import by_page_number
from .registry import action
from .resource_groups import resource_group
from .state import public
from .timestamps import creation_order, iso_seconds

DEFAULT_CIDR = "172.16.0.0/12"


def find_vpc(call, vpc_id):
    vpc = call.table("vpcs").get(vpc_id)
    if vpc is None:
        raise not_found("InvalidVpcId.NotFound", "VpcId", vpc_id)
    return vpc


def require_available(vpc):
    if vpc["Status"] != "Available":
        raise ApiError(400, "IncorrectVpcStatus",
                       f"The current status of the VPC \"{vpc['VpcId']}\" ({vpc['Status']}) does not support this operation.")


def vswitch_ids(call, vpc_id):
    return [v["VSwitchId"] for v in creation_order(call.table("vswitches").values(), "VSwitchId") if v["VpcId"] == vpc_id]


def _answer(call, vpc):
    """A VPC as DescribeVpcs answers it: the record and the vSwitches it holds now."""
    return {**public(vpc), "VSwitchIds": {"VSwitchId": vswitch_ids(call, vpc["VpcId"])}}


@action("Vpc", "CreateVpc")
@idempotent
def create_vpc(call):
    p = call.params
    network = cidr_blocks.vpc_block(p.str("CidrBlock", default=DEFAULT_CIDR))
    name = resource_names.name(p.str("VpcName"), "VpcName", "InvalidVpcName.Malformed")
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    user_cidrs = [c.strip() for c in (p.str("UserCidr") or "").split(",") if c.strip()]
    for user_cidr in user_cidrs:
        cidr_blocks.destination_block(user_cidr)
    tags = resource_tags.requested(p, "Key", "Value")
    vpcs = call.table("vpcs")
    if len(vpcs) >= call.quota("max_vpcs"):
        raise quota_exceeded("QuotaExceeded.Vpc", "The maximum number of VPCs in this region is reached.")
    resource_names.dry_run(call)

    now = call.now()
    vpc_id = call.emulator.new_id("vpc")
    vrouter_id = call.emulator.new_id("vrt")
    enable_ipv6 = p.bool("EnableIpv6")
    route_table = vpc_route_tables.create_system_route_table(call, vpc_id, vrouter_id)
    vpcs[vpc_id] = {
        "VpcId": vpc_id, "RegionId": call.region, "Status": "Pending", "VpcName": name or "",
        "Description": description or "", "CidrBlock": str(network), "IsDefault": False,
        "Ipv6CidrBlock": _ipv6_block(vpc_id) if enable_ipv6 else "", "EnabledIpv6": enable_ipv6,
        "VRouterId": vrouter_id, "CreationTime": iso_seconds(now), "ResourceGroupId": resource_group(call),
        "OwnerId": int(call.account),
        "RouterTableIds": {"RouterTableIds": [route_table["RouteTableId"]]},
        "UserCidrs": {"UserCidr": user_cidrs}, "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
        "NatGatewayIds": {"NatGatewayIds": []}, "Tags": {"Tag": tags}, "DhcpOptionsSetId": "",
        "DhcpOptionsSetStatus": "", "DnsHostnameStatus": "ENABLED" if p.bool("EnableDnsHostname") else "DISABLED",
        "CenStatus": "Detached", "_created": now,
    }
    call.table("vrouters")[vrouter_id] = {
        "VRouterId": vrouter_id, "VpcId": vpc_id, "RegionId": call.region, "VRouterName": "", "Description": "",
        "CreationTime": iso_seconds(now), "RouteTableIds": {"RouteTableId": [route_table["RouteTableId"]]},
        "_created": now,
    }
    call.schedule("vpcs", vpc_id, [{"Status": "Available"}])
    return {"VpcId": vpc_id, "VRouterId": vrouter_id, "RouteTableId": route_table["RouteTableId"],
            "ResourceGroupId": vpcs[vpc_id]["ResourceGroupId"]}


def _ipv6_block(vpc_id):
    # a /56 out of the documentation-free part of Alibaba's 2408:4000::/22, stable per VPC
    number = int.from_bytes(vpc_id.encode()[-6:], "big") % (1 << 34)
    return str(ipaddress.IPv6Network((int(ipaddress.IPv6Address("2408:4000::")) + (number << 72), 56)))


@action("Vpc", "DescribeVpcs")
def describe_vpcs(call):
    p = call.params
    wanted_ids = {v.strip() for v in (p.str("VpcId") or "").split(",") if v.strip()}
    if len(wanted_ids) > 20:
        raise ApiError(400, "InvalidVpcId.Malformed", "At most 20 VPC ids can be given in VpcId.")
    name = p.str("VpcName")
    group = p.str("ResourceGroupId")
    rows = []
    for vpc in creation_order(call.table("vpcs").values(), "VpcId"):
        if wanted_ids and vpc["VpcId"] not in wanted_ids:
            continue
        if name and vpc["VpcName"] != name:
            continue
        if "IsDefault" in p and vpc["IsDefault"] != p.bool("IsDefault"):
            continue
        if group and vpc["ResourceGroupId"] != group:
            continue
        if "EnableIpv6" in p and vpc["EnabledIpv6"] != p.bool("EnableIpv6"):
            continue
        if not resource_tags.matches(vpc["Tags"]["Tag"], p, "Key", "Value"):
            continue
        rows.append(vpc)
    page, info = by_page_number(rows, p, default_size=10, max_size=50)
    return {"Vpcs": {"Vpc": [_answer(call, vpc) for vpc in page]}, **info}


@action("Vpc", "DescribeVpcAttribute")
def describe_vpc_attribute(call):
    vpc = find_vpc(call, call.params.str("VpcId", required=True))
    answer = _answer(call, vpc)
    answer.pop("RouterTableIds", None)
    answer.pop("NatGatewayIds", None)
    answer.pop("CenStatus", None)
    counts = _cloud_resources(call, vpc)
    answer.update({
        "ClassicLinkEnabled": False, "SupportIpv4Gateway": True, "Ipv4GatewayId": "",
        "AssociatedCens": {"AssociatedCen": []},
        "AssociatedPropagationSources": {"AssociatedPropagationSources": []},
        "Ipv6CidrBlocks": {"Ipv6CidrBlock": ([{"Ipv6CidrBlock": vpc["Ipv6CidrBlock"], "Ipv6Isp": "BGP"}]
                                             if vpc["Ipv6CidrBlock"] else [])},
        "CloudResources": {"CloudResourceSetType": [{"ResourceType": kind, "ResourceCount": count}
                                                    for kind, count in counts.items() if count]},
    })
    return answer


def _cloud_resources(call, vpc):
    vpc_id = vpc["VpcId"]
    instances = [i for i in call.table("instances").values() if (i.get("VpcAttributes") or {}).get("VpcId") == vpc_id]
    return {
        "VSwitch": len(vswitch_ids(call, vpc_id)),
        "VRouter": 1,
        "RouteTable": len([t for t in call.table("route_tables").values() if t["VpcId"] == vpc_id]),
        "SecurityGroup": len([g for g in call.table("security_groups").values() if g.get("VpcId") == vpc_id]),
        "ECS": len(instances),
    }


@action("Vpc", "ModifyVpcAttribute")
def modify_vpc_attribute(call):
    p = call.params
    vpc = find_vpc(call, p.str("VpcId", required=True))
    name = resource_names.name(p.str("VpcName"), "VpcName", "InvalidVpcName.Malformed")
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    cidr = p.str("CidrBlock")
    if cidr:
        network = cidr_blocks.vpc_block(cidr)
        outside = [v["CidrBlock"] for v in call.table("vswitches").values()
                   if v["VpcId"] == vpc["VpcId"] and not ipaddress.IPv4Network(v["CidrBlock"]).subnet_of(network)]
        if outside:
            raise ApiError(400, "InvalidCidrBlock.Malformed",
                           f"The specified CidrBlock \"{cidr}\" does not contain the vSwitch CIDR blocks {', '.join(outside)}.")
        vpc["CidrBlock"] = str(network)
    if name is not None:
        vpc["VpcName"] = name
    if description is not None:
        vpc["Description"] = description
    if "EnableDnsHostname" in p:
        vpc["DnsHostnameStatus"] = "ENABLED" if p.bool("EnableDnsHostname") else "DISABLED"
    if p.bool("EnableIPv6") and not vpc["EnabledIpv6"]:
        vpc["EnabledIpv6"], vpc["Ipv6CidrBlock"] = True, _ipv6_block(vpc["VpcId"])
    return {}


@action("Vpc", "DeleteVpc")
def delete_vpc(call):
    vpc = find_vpc(call, call.params.str("VpcId", required=True))
    require_available(vpc)
    blockers = _dependents(call, vpc)
    if blockers:
        raise ApiError(400, "DependencyViolation",
                       f"The VPC \"{vpc['VpcId']}\" still holds {', '.join(blockers)}; delete them first.")
    resource_names.dry_run(call)
    vpc_route_tables.delete_route_tables_of(call, vpc["VpcId"])
    call.table("vrouters").pop(vpc["VRouterId"], None)
    del call.table("vpcs")[vpc["VpcId"]]
    return {}


def _dependents(call, vpc):
    """What keeps a VPC from being deleted, as "2 vSwitch(es)"-style phrases."""
    vpc_id = vpc["VpcId"]
    counts = {
        "vSwitch(es)": len(vswitch_ids(call, vpc_id)),
        "security group(s)": len([g for g in call.table("security_groups").values() if g.get("VpcId") == vpc_id]),
        "custom route entry(ies)": vpc_route_tables.custom_entry_count(call, vpc_id),
        "VPN gateway(s)": len([g for g in call.table("vpn_gateways").values() if g.get("VpcId") == vpc_id]),
        "router interface(s)": len([r for r in call.table("router_interfaces").values()
                                    if r.get("RouterId") == vpc["VRouterId"]]),
    }
    return [f"{count} {what}" for what, count in counts.items() if count]


@action("Vpc", "DescribeVRouters")
def describe_vrouters(call):
    p = call.params
    wanted = p.str("VRouterId")
    rows = [r for r in creation_order(call.table("vrouters").values(), "VRouterId") if not wanted or r["VRouterId"] == wanted]
    page, info = by_page_number(rows, p, default_size=10, max_size=50)
    return {"VRouters": {"VRouter": [public(r) for r in page]}, **info}

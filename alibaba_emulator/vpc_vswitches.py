"""vSwitches: CreateVSwitch (a CIDR block inside its VPC's, in one zone of the region, not overlapping
the VPC's other vSwitches), DescribeVSwitches, DeleteVSwitch (refused while instances use it).
A vSwitch is Pending for a moment, then Available; it joins its VPC's system route table."""
import ipaddress
from collections import Counter

from . import cidr_blocks, resource_names, resource_tags, vpc_route_tables
from .client_tokens import idempotent
from .errors import ApiError, not_found, quota_exceeded
from .paging import by_page_number
from .regions import check_zone
from .registry import action
from .resource_groups import resource_group
from .state import public
from .timestamps import creation_order, iso_seconds
from .vpc_vpcs import find_vpc, require_available


def instances_in(call, vswitch_id):
    return [i for i in call.table("instances").values()
            if (i.get("VpcAttributes") or {}).get("VSwitchId") == vswitch_id]


def _instances_per_vswitch(call):
    # counted once per call: a region may hold thousands of instances and hundreds of vSwitches
    return Counter((i.get("VpcAttributes") or {}).get("VSwitchId") for i in call.table("instances").values())


def _answer(vswitch, instance_count):
    network = ipaddress.IPv4Network(vswitch["CidrBlock"])
    free = cidr_blocks.usable_addresses(network) - instance_count
    return {**public(vswitch), "AvailableIpAddressCount": max(free, 0)}


@action("Vpc", "CreateVSwitch")
@idempotent
def create_vswitch(call):
    p = call.params
    vpc = find_vpc(call, p.str("VpcId", required=True))
    zone_id = p.str("ZoneId", required=True)
    check_zone(call.region, zone_id)
    network = cidr_blocks.vswitch_block(p.str("CidrBlock", required=True), ipaddress.IPv4Network(vpc["CidrBlock"]))
    name = resource_names.name(p.str("VSwitchName"), "VSwitchName", "InvalidVSwitchName.Malformed")
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    tags = resource_tags.requested(p, "Key", "Value")
    require_available(vpc)
    siblings = [v for v in call.table("vswitches").values() if v["VpcId"] == vpc["VpcId"]]
    for sibling in siblings:
        if ipaddress.IPv4Network(sibling["CidrBlock"]).overlaps(network):
            raise ApiError(400, "InvalidCidrBlock.Overlapped",
                           f"The specified CidrBlock \"{network}\" overlaps the vSwitch \"{sibling['VSwitchId']}\" "
                           f"({sibling['CidrBlock']}).")
    if len(siblings) >= call.quota("max_vswitches_per_vpc"):
        raise quota_exceeded("QuotaExceeded.VSwitch", "The maximum number of vSwitches in this VPC is reached.")
    resource_names.dry_run(call)

    now = call.now()
    vswitch_id = call.emulator.new_id("vsw")
    route_table_id = vpc["RouterTableIds"]["RouterTableIds"][0]
    call.table("vswitches")[vswitch_id] = {
        "VSwitchId": vswitch_id, "VpcId": vpc["VpcId"], "Status": "Pending", "CidrBlock": str(network),
        "ZoneId": zone_id, "VSwitchName": name or "", "Description": description or "",
        "CreationTime": iso_seconds(now), "IsDefault": False, "ResourceGroupId": resource_group(call),
        "RouteTable": {"RouteTableId": route_table_id, "RouteTableType": "System"}, "NetworkAclId": "",
        "ShareType": "Sharing", "Ipv6CidrBlock": "", "EnabledIpv6": False, "OwnerId": int(call.account),
        "Tags": {"Tag": tags}, "_created": now,
    }
    vpc_route_tables.add_vswitch_entry(call, route_table_id, str(network))
    call.schedule("vswitches", vswitch_id, [{"Status": "Available"}])
    return {"VSwitchId": vswitch_id}


@action("Vpc", "DescribeVSwitches")
def describe_vswitches(call):
    p = call.params
    wanted = {"VpcId": p.str("VpcId"), "ZoneId": p.str("ZoneId"), "VSwitchName": p.str("VSwitchName"),
              "ResourceGroupId": p.str("ResourceGroupId")}
    wanted_ids = {v.strip() for v in (p.str("VSwitchId") or "").split(",") if v.strip()}
    route_table = p.str("RouteTableId")
    rows = []
    for vswitch in creation_order(call.table("vswitches").values(), "VSwitchId"):
        if any(value is not None and vswitch[field] != value for field, value in wanted.items()):
            continue
        if wanted_ids and vswitch["VSwitchId"] not in wanted_ids:
            continue
        if route_table and vswitch["RouteTable"]["RouteTableId"] != route_table:
            continue
        if "IsDefault" in p and vswitch["IsDefault"] != p.bool("IsDefault"):
            continue
        if not resource_tags.matches(vswitch["Tags"]["Tag"], p, "Key", "Value"):
            continue
        rows.append(vswitch)
    page, info = by_page_number(rows, p, default_size=10, max_size=50)
    counts = _instances_per_vswitch(call)
    return {"VSwitches": {"VSwitch": [_answer(v, counts[v["VSwitchId"]]) for v in page]}, **info}


@action("Vpc", "DeleteVSwitch")
def delete_vswitch(call):
    vswitch_id = call.params.str("VSwitchId", required=True)
    vswitches = call.table("vswitches")
    vswitch = vswitches.get(vswitch_id)
    if vswitch is None:
        raise not_found("InvalidVSwitchId.NotFound", "VSwitchId", vswitch_id)
    if vswitch["Status"] != "Available":
        raise ApiError(400, "IncorrectVSwitchStatus",
                       f"The current status of the vSwitch \"{vswitch_id}\" ({vswitch['Status']}) does not support this operation.")
    users = instances_in(call, vswitch_id)
    if users:
        raise ApiError(400, "DependencyViolation",
                       f"The vSwitch \"{vswitch_id}\" is still used by {len(users)} ECS instance(s), e.g. "
                       f"\"{users[0]['InstanceId']}\"; delete them first.")
    resource_names.dry_run(call)
    vpc_route_tables.remove_vswitch_entry(call, vswitch["RouteTable"]["RouteTableId"], vswitch["CidrBlock"])
    del vswitches[vswitch_id]
    return {}

"""VPC route tables and route entries: the system route table every VPC gets with its VRouter
(DescribeRouteTables, DescribeRouteTableList) and its entries (CreateRouteEntry,
DescribeRouteEntryList, DeleteRouteEntry). System entries (the cloud service range and one per
vSwitch CIDR) come and go with the VPC and its vSwitches; custom entries are Pending, then Available."""
from . import cidr_blocks, registry, resource_names
from .client_tokens import idempotent
from .errors import ApiError, invalid_parameter, missing_parameter, not_found
from .paging import by_next_token, by_page_number
from .params import Params
from .registry import action
from .resource_groups import resource_group
from .state import public
from .timestamps import creation_order, iso_seconds

SERVICE_CIDR = "100.64.0.0/10"
NEXT_HOP_TYPES = ("Instance", "HaVip", "RouterInterface", "NetworkInterface", "VpnGateway", "IPv6Gateway",
                  "NatGateway", "Attachment", "VpcPeer", "Ipv4Gateway", "GatewayEndpoint", "Ecr")
# next hop type → (table that holds such ids, the action that makes them): checked when that action
# is emulated in this build, taken as given when it is not
_NEXT_HOP_TABLES = {"Instance": ("instances", ("Ecs", "RunInstances")),
                    "RouterInterface": ("router_interfaces", ("Vpc", "CreateRouterInterface")),
                    "VpnGateway": ("vpn_gateways", ("Vpc", "CreateVpnGateway")),
                    "NatGateway": ("nat_gateways", ("Vpc", "CreateNatGateway"))}


# --- what VPCs and vSwitches do to route tables ---------------------------------------------

def create_system_route_table(call, vpc_id, vrouter_id):
    now = call.now()
    table_id = call.emulator.new_id("vtb")
    table = {
        "RouteTableId": table_id, "VRouterId": vrouter_id, "VpcId": vpc_id, "RouteTableType": "System",
        "RouteTableName": "", "Description": "", "CreationTime": iso_seconds(now), "Status": "Available",
        "ResourceGroupId": resource_group(call), "RouterType": "VRouter", "AssociateType": "VSwitch",
        "RoutePropagationEnable": True, "Tags": {"Tag": []}, "_created": now,
    }
    call.table("route_tables")[table_id] = table
    _add_entry(call, table_id, SERVICE_CIDR, "System", "service", "", status="Available")
    return table


def add_vswitch_entry(call, route_table_id, cidr_block):
    _add_entry(call, route_table_id, cidr_block, "System", "local", "", status="Available")


def remove_vswitch_entry(call, route_table_id, cidr_block):
    entries = call.table("route_entries")
    for entry_id, entry in list(entries.items()):
        if (entry["RouteTableId"], entry["DestinationCidrBlock"], entry["Type"]) == (route_table_id, cidr_block, "System"):
            del entries[entry_id]


def delete_route_tables_of(call, vpc_id):
    tables = call.table("route_tables")
    for table_id in [t for t, table in tables.items() if table["VpcId"] == vpc_id]:
        del tables[table_id]
        entries = call.table("route_entries")
        for entry_id in [e for e, entry in entries.items() if entry["RouteTableId"] == table_id]:
            del entries[entry_id]


def custom_entry_count(call, vpc_id):
    tables = {t for t, table in call.table("route_tables").items() if table["VpcId"] == vpc_id}
    return len([e for e in call.table("route_entries").values() if e["RouteTableId"] in tables and e["Type"] == "Custom"])


def _add_entry(call, table_id, cidr, kind, next_hop_type, next_hop_id, status, name="", description="", next_hops=()):
    now = call.now()
    entry_id = call.emulator.new_id("rte")
    call.table("route_entries")[entry_id] = {
        "RouteEntryId": entry_id, "RouteTableId": table_id, "DestinationCidrBlock": cidr, "Type": kind,
        "Status": status, "NextHopType": next_hop_type, "NextHopId": next_hop_id, "RouteEntryName": name,
        "Description": description, "IpVersion": "ipv4", "GmtModified": iso_seconds(now),
        "NextHops": {"NextHop": list(next_hops)}, "_created": now,
    }
    return entry_id


# --- answers --------------------------------------------------------------------------------

def _find_table(call, table_id):
    table = call.table("route_tables").get(table_id)
    if table is None:
        raise not_found("InvalidRouteTableId.NotFound", "RouteTableId", table_id)
    return table


def _entries_of(call, table_id):
    return creation_order([e for e in call.table("route_entries").values() if e["RouteTableId"] == table_id],
                          "RouteEntryId")


def _vswitches_of(call, table_id):
    return [v["VSwitchId"] for v in creation_order(call.table("vswitches").values(), "VSwitchId")
            if v.get("RouteTable", {}).get("RouteTableId") == table_id]


def _entry_in_table(entry):
    """A route entry as DescribeRouteTables shows it (InstanceId is the next hop)."""
    return {"RouteTableId": entry["RouteTableId"], "RouteEntryId": entry["RouteEntryId"],
            "RouteEntryName": entry["RouteEntryName"], "Description": entry["Description"],
            "DestinationCidrBlock": entry["DestinationCidrBlock"], "Type": entry["Type"], "Status": entry["Status"],
            "InstanceId": entry["NextHopId"], "NextHopType": entry["NextHopType"],
            "NextHops": {"NextHop": [{"NextHopType": h["NextHopType"], "NextHopId": h["NextHopId"],
                                      "Enabled": 1, "Weight": h.get("Weight", 100)} for h in entry["NextHops"]["NextHop"]]}}


def _entry_in_list(call, entry):
    """A route entry as DescribeRouteEntryList shows it (next hops listed, with what they are)."""
    hops = entry["NextHops"]["NextHop"] or (
        [{"NextHopType": entry["NextHopType"], "NextHopId": entry["NextHopId"], "Weight": 100}]
        if entry["Type"] == "Custom" else [{"NextHopType": entry["NextHopType"], "NextHopId": "", "Weight": 0}])
    return {"RouteTableId": entry["RouteTableId"], "RouteEntryId": entry["RouteEntryId"],
            "RouteEntryName": entry["RouteEntryName"], "Description": entry["Description"],
            "DestinationCidrBlock": entry["DestinationCidrBlock"], "Type": entry["Type"], "Status": entry["Status"],
            "IpVersion": entry["IpVersion"], "GmtModified": entry["GmtModified"], "Origin": entry["Type"],
            "ServiceType": "",
            "NextHops": {"NextHop": [{"NextHopType": h["NextHopType"], "NextHopId": h["NextHopId"], "Enabled": 1,
                                      "Weight": h.get("Weight", 100), "NextHopRegionId": call.region,
                                      "NextHopRelatedInfo": {"InstanceId": h["NextHopId"],
                                                             "InstanceType": h["NextHopType"] if h["NextHopId"] else "",
                                                             "RegionId": call.region if h["NextHopId"] else ""}}
                                     for h in hops]}}


@action("Vpc", "DescribeRouteTables")
def describe_route_tables(call):
    p = call.params
    wanted = {
        "RouteTableId": p.str("RouteTableId"), "VRouterId": p.str("VRouterId") or p.str("RouterId"),
        "RouterType": p.str("RouterType"), "RouteTableType": p.str("Type"),
        "RouteTableName": p.str("RouteTableName"), "ResourceGroupId": p.str("ResourceGroupId"),
    }
    rows = [t for t in creation_order(call.table("route_tables").values(), "RouteTableId")
            if all(value is None or t[field] == value for field, value in wanted.items())]
    page, info = by_page_number(rows, p, default_size=10, max_size=50)
    answered = [{
        "RouteTableId": t["RouteTableId"], "VRouterId": t["VRouterId"], "RouteTableType": t["RouteTableType"],
        "CreationTime": t["CreationTime"], "Status": t["Status"], "ResourceGroupId": t["ResourceGroupId"],
        "VSwitchIds": {"VSwitchId": _vswitches_of(call, t["RouteTableId"])},
        "RouteEntrys": {"RouteEntry": [_entry_in_table(e) for e in _entries_of(call, t["RouteTableId"])]},
    } for t in page]
    return {"RouteTables": {"RouteTable": answered}, **info}


@action("Vpc", "DescribeRouteTableList")
def describe_route_table_list(call):
    p = call.params
    wanted = {
        "VpcId": p.str("VpcId"), "RouteTableId": p.str("RouteTableId"), "VRouterId": p.str("RouterId"),
        "RouterType": p.str("RouterType"), "RouteTableType": p.str("RouteTableType"),
        "RouteTableName": p.str("RouteTableName"), "ResourceGroupId": p.str("ResourceGroupId"),
    }
    rows = [t for t in creation_order(call.table("route_tables").values(), "RouteTableId")
            if all(value is None or t[field] == value for field, value in wanted.items())]
    page, info = by_page_number(rows, p, default_size=10, max_size=50)
    answered = []
    for t in page:
        row = {k: v for k, v in public(t).items() if k != "VRouterId"}
        row.update({"RouterId": t["VRouterId"], "VSwitchIds": {"VSwitchId": _vswitches_of(call, t["RouteTableId"])},
                    "GatewayIds": {"GatewayIds": []}})
        answered.append(row)
    return {"RouterTableList": {"RouterTableListType": answered}, **info}


@action("Vpc", "CreateRouteEntry")
@idempotent
def create_route_entry(call):
    p = call.params
    table = _find_table(call, p.str("RouteTableId", required=True))
    destination = str(cidr_blocks.destination_block(p.str("DestinationCidrBlock", required=True)))
    name = resource_names.name(p.str("RouteEntryName"), "RouteEntryName", "InvalidRouteEntryName.Malformed")
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    hops = [{"NextHopType": h.get("NextHopType", "Instance"), "NextHopId": h.get("NextHopId", ""),
             "Weight": _weight(index, h.get("Weight"))} for index, h in enumerate(p.objects("NextHopList"), 1)]
    if hops:
        next_hop_type, next_hop_id = "Ecmp", ""
    else:
        next_hop_type = p.str("NextHopType", default="Instance")
        next_hop_id = p.str("NextHopId", required=True)
    for hop_type, hop_id in ([(h["NextHopType"], h["NextHopId"]) for h in hops] or [(next_hop_type, next_hop_id)]):
        _check_next_hop(call, table, hop_type, hop_id)
    vpc = call.table("vpcs").get(table["VpcId"])
    if vpc is not None and vpc["Status"] != "Available":
        raise ApiError(400, "IncorrectVpcStatus",
                       f"The current status of the VPC \"{vpc['VpcId']}\" ({vpc['Status']}) does not support this operation.")
    if any(e["DestinationCidrBlock"] == destination for e in _entries_of(call, table["RouteTableId"])):
        raise ApiError(400, "RouterEntryConflict.Duplicated",
                       f"A route entry for {destination} already exists in the route table \"{table['RouteTableId']}\".")
    resource_names.dry_run(call)
    entry_id = _add_entry(call, table["RouteTableId"], destination, "Custom", next_hop_type, next_hop_id,
                          status="Pending", name=name or "", description=description or "", next_hops=hops)
    call.schedule("route_entries", entry_id, [{"Status": "Available"}])
    return {"RouteEntryId": entry_id}


def _weight(index, text):
    """An ECMP next hop's weight: 0 to 255, 100 unless given."""
    if text is None or text == "":
        return 100
    if not text.isdigit() or int(text) > 255:
        raise invalid_parameter(f"NextHopList.{index}.Weight", text)
    return int(text)


def _check_next_hop(call, table, hop_type, hop_id):
    if hop_type not in NEXT_HOP_TYPES:
        raise invalid_parameter("NextHopType", hop_type)
    if not hop_id:
        raise missing_parameter("NextHopId")
    holder, maker = _NEXT_HOP_TABLES.get(hop_type, (None, None))
    if holder is None or registry.find(*maker) is None:
        return   # a kind of next hop the emulator does not model (in this build): taken as given
    record = call.table(holder).get(hop_id)
    if record is None or (holder == "instances"
                          and (record.get("VpcAttributes") or {}).get("VpcId") != table["VpcId"]):
        raise not_found("InvalidNextHopId.NotFound", "NextHopId", hop_id)


@action("Vpc", "DescribeRouteEntryList")
def describe_route_entry_list(call):
    p = call.params
    table = _find_table(call, p.str("RouteTableId", required=True))
    wanted = {"RouteEntryId": p.str("RouteEntryId"), "RouteEntryName": p.str("RouteEntryName"),
              "Type": p.str("RouteEntryType"), "DestinationCidrBlock": p.str("DestinationCidrBlock"),
              "NextHopType": p.str("NextHopType"), "NextHopId": p.str("NextHopId"), "IpVersion": p.str("IpVersion")}
    destinations = set(p.list("DestCidrBlockList"))
    rows = [e for e in _entries_of(call, table["RouteTableId"])
            if all(value is None or e[field] == value for field, value in wanted.items())
            and (not destinations or e["DestinationCidrBlock"] in destinations)]
    # this action names its page size MaxResult (no s); the shared pager reads MaxResults
    paging = Params({"NextToken": p.str("NextToken", default=""), "MaxResults": p.str("MaxResult", default="")})
    page, info = by_next_token(rows, paging, default_size=50, max_size=100)
    return {"RouteEntrys": {"RouteEntry": [_entry_in_list(call, e) for e in page]}, **info}


@action("Vpc", "DeleteRouteEntry")
def delete_route_entry(call):
    p = call.params
    entry = _find_entry(call, p)
    if entry["Type"] != "Custom":
        raise ApiError(403, "OperationDenied.SystemRouteEntry",
                       f"The route entry \"{entry['RouteEntryId']}\" is a system route entry and cannot be deleted.")
    if entry["Status"] != "Available":
        raise ApiError(400, "IncorrectRouteEntryStatus",
                       f"The current status of the route entry \"{entry['RouteEntryId']}\" ({entry['Status']}) "
                       "does not support this operation.")
    resource_names.dry_run(call)
    entry["Status"] = "Deleting"
    call.schedule("route_entries", entry["RouteEntryId"], [{"_delete": True}])
    return {}


def _find_entry(call, p):
    entry_id = p.str("RouteEntryId")
    entries = call.table("route_entries")
    if entry_id:
        entry = entries.get(entry_id)
        if entry is None:
            raise not_found("InvalidRouteEntry.NotFound", "RouteEntryId", entry_id)
        return entry
    table = _find_table(call, p.str("RouteTableId", required=True))
    destination = p.str("DestinationCidrBlock", required=True)
    next_hop = p.str("NextHopId")
    for entry in _entries_of(call, table["RouteTableId"]):
        if entry["DestinationCidrBlock"] == destination and (not next_hop or entry["NextHopId"] == next_hop):
            return entry
    raise not_found("InvalidRouteEntry.NotFound", "route entry for", destination)

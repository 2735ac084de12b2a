"""Virtual border routers (Express Connect). A VBR exists only on top of a physical connection
that a carrier laid into an Alibaba access point, so no API call creates one: the emulator seeds
one or two per account and region the first time anyone looks, and the admin API
(`POST /_emulator/vbrs`) adds more. Each VBR has its own route table, kept in `route_tables` beside
the VPCs' so that CreateRouteEntry finds it."""
from . import admin
from .paging import by_page_number
from .regions import REGIONS
from .registry import action
from .resource_groups import default_resource_group
from .state import public
from .timestamps import creation_order, iso_seconds
from .vpc_filters import has_tags, matches, parse_filters

TABLE = "vbrs"
ROUTE_TABLES = "route_tables"
FILTER_KEYS = {"VbrId", "Status", "Name", "PhysicalConnectionId", "AccessPointId", "Type", "VlanId", "EccId"}


def seed_count(region):
    # the mainland regions of the catalogue have two circuits, the others one
    return 2 if region.startswith("cn-") else 1


def vbr_table(emulator, account, region):
    """The VBRs of one account in one region, seeded on first use and saved even when the call is
    a read, so that ids a caller has already seen survive a restart."""
    tables = emulator.data["accounts"].setdefault(account, {"regions": {}, "global": {}})["regions"]
    by_name = tables.setdefault(region, {})
    if TABLE not in by_name:
        by_name[TABLE] = {}
        for _ in range(seed_count(region)):
            add_vbr(emulator, account, region)
        emulator.save()
    return by_name[TABLE]


def add_vbr(emulator, account, region, name=None, vlan_id=None, description=None, bandwidth=1000):
    """A VBR on a fresh physical connection, with its route table; returns the record."""
    rows = emulator.data["accounts"][account]["regions"][region].setdefault(TABLE, {})
    index = len(rows) + 1
    vbr_id = emulator.new_id("vbr")
    route_table_id = emulator.new_id("vtb")
    now = emulator.now()
    letter = chr(ord("A") + (index - 1) % 26)
    vlan = int(vlan_id) if vlan_id is not None else 100 + index
    if not 0 <= vlan <= 2999:
        raise ValueError("vlan_id must be between 0 and 2999")
    physical_connection = {
        "PhysicalConnectionId": emulator.new_id("pc"), "PhysicalConnectionOwnerUid": account,
        "PhysicalConnectionStatus": "Enabled", "PhysicalConnectionBusinessStatus": "Normal",
        "CircuitCode": f"EMU-{region.upper()}-{index:03d}",
    }
    record = {
        "VbrId": vbr_id,
        "Name": name or f"vbr-{region}-{letter.lower()}",
        "Description": description or "Emulated Express Connect circuit to the on-premises data centre",
        "Status": "active",
        "Type": "pconnVBR",
        "AccessPointId": f"ap-{region}-dc-{letter}",
        "VlanId": vlan,
        "VlanInterfaceId": emulator.new_id("ri"),
        "LocalGatewayIp": f"10.254.{index % 256}.1",
        "PeerGatewayIp": f"10.254.{index % 256}.2",
        "PeeringSubnetMask": "255.255.255.252",
        "EnableIpv6": False,
        "Bandwidth": int(bandwidth),
        "Mtu": 1500,
        "MinRxInterval": 300,
        "MinTxInterval": 300,
        "DetectMultiplier": 3,
        "RouteTableId": route_table_id,
        "CreationTime": iso_seconds(now),
        "ActivationTime": iso_seconds(now),
        "ResourceGroupId": default_resource_group(account),
        "SitelinkEnable": False,
        "EccId": "",
        "EcrId": "",
        **physical_connection,
        "AssociatedPhysicalConnections": {"AssociatedPhysicalConnection": [{
            **physical_connection, "Status": "active", "VlanId": str(vlan),
            "VlanInterfaceId": "", "LocalGatewayIp": f"10.254.{index % 256}.1",
            "PeerGatewayIp": f"10.254.{index % 256}.2", "PeeringSubnetMask": "255.255.255.252",
            "EnableIpv6": False,
        }]},
        "AssociatedCens": {"AssociatedCen": []},
        "Tags": {"Tags": []},
        "_created": now,   # the listing order: CreationTime is only to the second
    }
    rows[vbr_id] = record
    # the fields vpc_route_tables keeps for a VPC's table, so its CreateRouteEntry and
    # DescribeRouteTableList (RouterType=VBR) serve this one too
    emulator.table(account, region, ROUTE_TABLES)[route_table_id] = {
        "RouteTableId": route_table_id, "VRouterId": vbr_id, "VpcId": "", "RouteTableType": "System",
        "RouteTableName": "", "Description": "", "CreationTime": iso_seconds(now), "Status": "Available",
        "ResourceGroupId": default_resource_group(account), "RouterType": "VBR", "AssociateType": "VSwitch",
        "RoutePropagationEnable": True, "Tags": {"Tag": []}, "_created": now,
    }
    return record


@action("Vpc", "DescribeVirtualBorderRouters")
def describe_virtual_border_routers(call):
    conditions = parse_filters(call.params, FILTER_KEYS)
    rows = creation_order([r for r in vbr_table(call.emulator, call.account, call.region).values()
                           if matches(r, conditions) and has_tags(r["Tags"]["Tags"], call.params, "Tags")],
                          "VbrId")
    page, info = by_page_number(rows, call.params, default_size=10, max_size=50)
    return {"VirtualBorderRouterSet": {"VirtualBorderRouterType": [public(r) for r in page]}, **info}


def admin_add_vbr(emulator, request, data):
    """POST /_emulator/vbrs {"region", "account"?, "name"?, "vlan_id"?, "description"?, "bandwidth"?}:
    a new circuit was laid; answers the VBR as DescribeVirtualBorderRouters shows it."""
    region = data.get("region")
    if not region:
        raise ValueError("missing: region")
    if region not in REGIONS:
        raise ValueError(f"unknown region {region}")
    account = data.get("account") or emulator.demo_account
    vbr_table(emulator, account, region)
    record = add_vbr(emulator, account, region, name=data.get("name"), vlan_id=data.get("vlan_id"),
                     description=data.get("description"), bandwidth=data.get("bandwidth", 1000))
    emulator.save()
    return public(record)


# The admin API is a table of routes; this module adds its one route there rather than editing it.
admin.ROUTES[("POST", "vbrs")] = admin_add_vbr

"""VPCs, VRouters, vSwitches, route entries, security groups and EIPs (H4, H7); VPCs first, as the
others look theirs up."""
from ..models import (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVRouter, AlibabaVSwitch, AlibabaVpc,
                      EcsInstance)
from ..models.network import NetworkState
from ..security_rules import rules_of
from .base import RemoteKind, cloud_time, list_at
from .ecs import ECS_INSTANCES, zone_pk


def _named(field, fallback):
    return lambda item, sync: item.get(field) or item.get(fallback) or ""


def _looked_up(table, field):
    """A function reading the pk of the row the item's ``field`` names (``sync.lookups[table]``)."""
    return lambda item, sync: sync.lookups[table].get(item.get(field) or "")


def _available(item, sync):
    return NetworkState.AVAILABLE


class NetworkKind(RemoteKind):
    deleted_state = NetworkState.DELETED
    import_only = ("description",)   # the portal's once the row is there (PATCH)

    def vpc_lookup(self, sync):
        sync.lookups["vpcs"] = dict(AlibabaVpc.objects.filter(data_center=sync.data_center)
                                    .exclude(vpc_id=None).values_list("vpc_id", "pk"))


class Vpcs(NetworkKind):
    model = AlibabaVpc
    remote_key, local_key = "VpcId", "vpc_id"
    fields = {"name": _named("VpcName", "VpcId"), "description": "Description", "state": "Status",
              "cidr_block": "CidrBlock", "v_router_id": "VRouterId",
              "is_default": lambda item, sync: bool(item.get("IsDefault")),
              "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime"))}

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeVpcs", {}, "Vpcs.Vpc")


class VRouters(NetworkKind):
    model = AlibabaVRouter
    remote_key, local_key = "VRouterId", "v_router_id"
    fields = {"name": _named("VRouterName", "VRouterId"), "description": "Description", "state": _available,
              "vpc_id": "VpcId", "parent_vpc_id": _looked_up("vpcs", "VpcId"),
              "route_table_ids": list_at("RouteTableIds.RouteTableId"),
              "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime"))}

    def prepare(self, sync):
        self.vpc_lookup(sync)

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeVRouters", {}, "VRouters.VRouter")


class VSwitches(NetworkKind):
    model = AlibabaVSwitch
    remote_key, local_key = "VSwitchId", "v_switch_id"
    fields = {"name": _named("VSwitchName", "VSwitchId"), "description": "Description", "state": "Status",
              "vpc_id": "VpcId", "parent_vpc_id": _looked_up("vpcs", "VpcId"),
              "identity_zone_id": zone_pk, "cidr_block": "CidrBlock",
              "available_ip_address_count": lambda item, sync: int(item.get("AvailableIpAddressCount") or 0),
              "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime"))}

    def prepare(self, sync):
        self.vpc_lookup(sync)
        ECS_INSTANCES.prepare(sync)   # the zones

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeVSwitches", {}, "VSwitches.VSwitch")


class RouteEntries(NetworkKind):
    """The entries of the VPCs' route tables (the VBRs' belong to Express Connect). An entry has no
    tag: one a create flow is still making is known by its table and destination."""

    model = AlibabaRouteEntry
    remote_key, local_key = "RouteEntryId", "route_entry_id"
    fields = {"name": _named("RouteEntryName", "DestinationCidrBlock"), "description": "Description",
              "state": "Status", "route_table_id": "RouteTableId", "destination_cidr_block": "DestinationCidrBlock",
              "next_hop_type": "NextHopType", "next_hop_id": "InstanceId", "entry_type": "Type",
              "v_router_id": _looked_up("v_routers", "VRouterId")}

    def prepare(self, sync):
        sync.lookups["v_routers"] = dict(AlibabaVRouter.objects.filter(data_center=sync.data_center)
                                         .values_list("v_router_id", "pk"))

    def created_by(self, item):
        return item.get("_made_for")

    def list_remote(self, cloud, data_center):
        waiting = {(row.route_table_id, row.destination_cidr_block): str(row.uuid)
                   for row in AlibabaRouteEntry.objects.filter(data_center=data_center, route_entry_id=None)}
        for table in cloud.numbered_pages("Vpc", "DescribeRouteTables", {"RouterType": "VRouter"},
                                    "RouteTables.RouteTable"):
            for entry in (table.get("RouteEntrys") or {}).get("RouteEntry") or []:
                made_for = waiting.get((table.get("RouteTableId"), entry.get("DestinationCidrBlock")))
                yield {**entry, "RouteTableId": table.get("RouteTableId"), "VRouterId": table.get("VRouterId"),
                       "_made_for": made_for}


class SecurityGroups(NetworkKind):
    """Security groups with their rules: one DescribeSecurityGroupAttribute per group, as the
    listing does not hold them."""

    model = AlibabaSecurityGroup
    remote_key, local_key = "SecurityGroupId", "security_group_id"
    fields = {"name": _named("SecurityGroupName", "SecurityGroupId"), "description": "Description",
              "state": _available, "vpc_id": "VpcId", "parent_vpc_id": _looked_up("vpcs", "VpcId"),
              "security_group_type": "SecurityGroupType", "rules": lambda item, sync: item["_rules"],
              "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime"))}

    def prepare(self, sync):
        self.vpc_lookup(sync)

    def list_remote(self, cloud, data_center):
        for item in cloud.ecs_pages("DescribeSecurityGroups", {}, "SecurityGroups.SecurityGroup"):
            rules = rules_of(cloud, item["SecurityGroupId"])
            if rules is not None:   # deleted between the two calls: gone
                yield {**item, "_rules": rules}


class Eips(NetworkKind):
    model = AlibabaEip
    remote_key, local_key = "AllocationId", "allocation_id"
    fields = {"name": _named("Name", "IpAddress"), "description": "Description", "state": "Status",
              "ip_address": "IpAddress", "bandwidth": lambda item, sync: int(item.get("Bandwidth") or 0),
              "internet_charge_type": "InternetChargeType", "instance_charge_type": "ChargeType",
              "instance_id": "InstanceId",
              "ecs_instance_id": _looked_up("ecs_instances", "InstanceId"),
              "remote_created_at": lambda item, sync: cloud_time(item.get("AllocationTime"))}

    def prepare(self, sync):
        sync.lookups["ecs_instances"] = dict(EcsInstance.objects.filter(data_center=sync.data_center)
                                             .exclude(instance_id=None).values_list("instance_id", "pk"))

    def list_remote(self, cloud, data_center):
        return cloud.numbered_pages("Vpc", "DescribeEipAddresses", {}, "EipAddresses.EipAddress", page_size=100)


VPCS, V_ROUTERS, V_SWITCHES, ROUTE_ENTRIES = Vpcs(), VRouters(), VSwitches(), RouteEntries()
SECURITY_GROUPS, EIPS = SecurityGroups(), Eips()

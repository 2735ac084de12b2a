"""What a data centre's sync mirrors, one declaration per kind of cloud resource.

A kind says how to list its items in the cloud, which field of an item is its id and which
column holds it here, and how each column is read from an item; ``syncing.sync_kind`` does the
rest the same way for every kind (import new, update changed, mark gone ``Deleted``, write
nothing when nothing changed). A new kind (security groups, VPCs, EIPs, ...) is a class here and
a line in ``SYNC_ORDER``::

    class SecurityGroups(RemoteKind):
        model = AlibabaSecurityGroup
        remote_key, local_key = "SecurityGroupId", "security_group_id"
        fields = {"name": "SecurityGroupName", "description": "Description", "vpc_id": "VpcId"}

        def list_remote(self, cloud, data_center):
            return cloud.ecs_pages("DescribeSecurityGroups", {}, "SecurityGroups.SecurityGroup")

The model has ``account``, ``data_center``, ``state`` (``Deleted`` for gone ones) and the key column.
"""
from datetime import datetime, timezone

from .models import AlibabaIdentityZone, EcsInstance
from .models.data_center import RemoteState
from .models.ecs import MIB, EcsState

PORTAL_TAG = "cloudportal:uuid"   # set on what a flow creates: the portal row's uuid


class RemoteKind:
    model = None
    remote_key = ""        # the item's id field ("InstanceId")
    local_key = ""         # the column holding it ("instance_id")
    fields = {}            # column (attname) -> the item's field name, or a function(item, sync) -> value
    import_only = ()       # columns of ``fields`` read from the cloud on import only: the portal's after
    deleted_state = "Deleted"   # the state a row takes when its item is gone

    def list_remote(self, cloud, data_center):
        """The cloud's items (dicts with the cloud's names) below ``data_center``."""
        raise NotImplementedError

    def prepare(self, sync):
        """Read what the field functions look up (``sync.lookups``), once per sync."""

    def name(self):
        return self.model.__name__

    def values(self, item, sync):
        """The columns of a row mirroring ``item``."""
        found = {}
        for column, source in self.fields.items():
            if callable(source):
                found[column] = source(item, sync)
            else:
                value = item.get(source)
                found[column] = "" if value is None else value
        return found

    def created_by(self, item):
        """The uuid of the portal row a flow created ``item`` for (its ``cloudportal:uuid`` tag), else None."""
        for tag in (item.get("Tags") or {}).get("Tag") or []:
            if tag.get("TagKey") == PORTAL_TAG or tag.get("Key") == PORTAL_TAG:
                return tag.get("TagValue") or tag.get("Value")
        return None


def cloud_time(text):
    """The cloud's time (``2026-12-07T08:00Z``, seconds optional) as an aware datetime; None for none."""
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _list(path):
    """A function reading the list at ``path`` ("PublicIpAddress.IpAddress") of an item."""
    def read(item, sync):
        value = item
        for step in path.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        return list(value or [])
    return read


class Zones(RemoteKind):
    model = AlibabaIdentityZone
    remote_key, local_key = "ZoneId", "zone_id"
    fields = {
        "name": lambda item, sync: item.get("LocalName") or item["ZoneId"],
        "local_name": "LocalName",
        "available_instance_types": _list("AvailableInstanceTypes.InstanceTypes"),
        "state": lambda item, sync: RemoteState.AVAILABLE,
    }
    deleted_state = RemoteState.DELETED

    def list_remote(self, cloud, data_center):
        return cloud.ecs("DescribeZones", {}).get("Zones", {}).get("Zone", [])


def _zone_pk(item, sync):
    return sync.lookups["zones"].get(item.get("ZoneId"))


def _private_ips(item, sync):
    in_vpc = _list("VpcAttributes.PrivateIpAddress.IpAddress")(item, sync)
    return in_vpc or _list("InnerIpAddress.IpAddress")(item, sync)   # a classic-network instance


class EcsInstances(RemoteKind):
    model = EcsInstance
    remote_key, local_key = "InstanceId", "instance_id"
    fields = {
        "name": lambda item, sync: item.get("InstanceName") or item["InstanceId"],
        "description": "Description",
        "state": "Status",
        "identity_zone_id": _zone_pk,
        "instance_type": "InstanceType",
        "image_id": "ImageId",
        "cpu_num": lambda item, sync: int(item.get("Cpu") or 0),
        "memory_size": lambda item, sync: int(item.get("Memory") or 0) * MIB,
        "instance_charge_type": "InstanceChargeType",
        "internet_charge_type": "InternetChargeType",
        "internet_max_bandwidth_out": lambda item, sync: int(item.get("InternetMaxBandwidthOut") or 0),
        "vpc_id": lambda item, sync: (item.get("VpcAttributes") or {}).get("VpcId") or "",
        "v_switch_id": lambda item, sync: (item.get("VpcAttributes") or {}).get("VSwitchId") or "",
        "security_group_ids": _list("SecurityGroupIds.SecurityGroupId"),
        "private_ips": _private_ips,
        "public_ips": _list("PublicIpAddress.IpAddress"),
        "eip_address": lambda item, sync: (item.get("EipAddress") or {}).get("IpAddress") or "",
        "host_name": "HostName",
        "os_name": "OSName",
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
        "expired_at": lambda item, sync: cloud_time(item.get("ExpiredTime")),
    }
    deleted_state = EcsState.DELETED
    import_only = ("description",)   # PATCH changes it here (the cloud's description is not the portal's)

    def prepare(self, sync):
        sync.lookups["zones"] = dict(AlibabaIdentityZone.objects.filter(data_center=sync.data_center)
                                     .values_list("zone_id", "pk"))

    def list_remote(self, cloud, data_center):
        return cloud.ecs_pages("DescribeInstances", {}, "Instances.Instance")


ZONES = Zones()
ECS_INSTANCES = EcsInstances()
# in this order: a kind may look up rows of the kinds before it (instances: their zones)
SYNC_ORDER = [ZONES, ECS_INSTANCES]


# --- networking (H4, H7): VPCs first, as the others look theirs up ---------------------------------
from .cloud_pages import numbered_pages  # noqa: E402
from .models import (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVRouter,  # noqa: E402
                     AlibabaVSwitch)
from .models.network import NetworkState  # noqa: E402
from .security_rules import rules_of  # noqa: E402


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
        return numbered_pages(cloud, "Vpc", "DescribeVpcs", {}, "Vpcs.Vpc")


class VRouters(NetworkKind):
    model = AlibabaVRouter
    remote_key, local_key = "VRouterId", "v_router_id"
    fields = {"name": _named("VRouterName", "VRouterId"), "description": "Description", "state": _available,
              "vpc_id": "VpcId", "parent_vpc_id": _looked_up("vpcs", "VpcId"),
              "route_table_ids": _list("RouteTableIds.RouteTableId"),
              "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime"))}

    def prepare(self, sync):
        self.vpc_lookup(sync)

    def list_remote(self, cloud, data_center):
        return numbered_pages(cloud, "Vpc", "DescribeVRouters", {}, "VRouters.VRouter")


class VSwitches(NetworkKind):
    model = AlibabaVSwitch
    remote_key, local_key = "VSwitchId", "v_switch_id"
    fields = {"name": _named("VSwitchName", "VSwitchId"), "description": "Description", "state": "Status",
              "vpc_id": "VpcId", "parent_vpc_id": _looked_up("vpcs", "VpcId"),
              "identity_zone_id": _zone_pk, "cidr_block": "CidrBlock",
              "available_ip_address_count": lambda item, sync: int(item.get("AvailableIpAddressCount") or 0),
              "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime"))}

    def prepare(self, sync):
        self.vpc_lookup(sync)
        ECS_INSTANCES.prepare(sync)   # the zones

    def list_remote(self, cloud, data_center):
        return numbered_pages(cloud, "Vpc", "DescribeVSwitches", {}, "VSwitches.VSwitch")


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
        for table in numbered_pages(cloud, "Vpc", "DescribeRouteTables", {"RouterType": "VRouter"},
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
        return numbered_pages(cloud, "Vpc", "DescribeEipAddresses", {}, "EipAddresses.EipAddress", page_size=100)


VPCS, V_ROUTERS, V_SWITCHES, ROUTE_ENTRIES = Vpcs(), VRouters(), VSwitches(), RouteEntries()
SECURITY_GROUPS, EIPS = SecurityGroups(), Eips()
SYNC_ORDER += [VPCS, V_ROUTERS, V_SWITCHES, ROUTE_ENTRIES, SECURITY_GROUPS, EIPS]

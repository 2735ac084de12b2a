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

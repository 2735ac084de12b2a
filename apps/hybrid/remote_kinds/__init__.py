"""What a data centre's sync mirrors, one declaration per kind of cloud resource.

A kind says how to list its items in the cloud, which field of an item is its id and which
column holds it here, and how each column is read from an item; ``syncing.sync_kind`` does the
rest the same way for every kind (import new, update changed, mark gone ``Deleted``, write
nothing when nothing changed). A new kind is a class in the module of its area (``ecs``,
``storage``, ``network``, ``links``) and a place in ``SYNC_ORDER`` below::

    class SecurityGroups(RemoteKind):
        model = AlibabaSecurityGroup
        remote_key, local_key = "SecurityGroupId", "security_group_id"
        fields = {"name": "SecurityGroupName", "description": "Description", "vpc_id": "VpcId"}

        def list_remote(self, cloud, data_center):
            return cloud.ecs_pages("DescribeSecurityGroups", {}, "SecurityGroups.SecurityGroup")

The model has ``account``, ``data_center``, ``state`` (``Deleted`` for gone ones) and the key column.
"""
from .base import PORTAL_TAG, RemoteKind, cloud_time, epoch_ms, items_at, list_at, tagged_by_portal
from .ecs import ECS_INSTANCES, ZONES
from .links import CUSTOMER_GATEWAYS, ROUTER_INTERFACES, VIRTUAL_BORDER_ROUTERS, VPN_CONNECTIONS, VPN_GATEWAYS
from .network import EIPS, ROUTE_ENTRIES, SECURITY_GROUPS, V_ROUTERS, V_SWITCHES, VPCS
from .storage import ECS_DISKS, ECS_IMAGES, IMAGE_STATUSES, OSS_BUCKETS

# in this order: a kind may look up rows of the kinds before it (instances their zones, disks their
# instances, vSwitches their VPCs and zones)
SYNC_ORDER = [
    ZONES, ECS_INSTANCES,
    OSS_BUCKETS, ECS_IMAGES, ECS_DISKS,
    VIRTUAL_BORDER_ROUTERS, ROUTER_INTERFACES, VPN_GATEWAYS, CUSTOMER_GATEWAYS, VPN_CONNECTIONS,
    VPCS, V_ROUTERS, V_SWITCHES, ROUTE_ENTRIES, SECURITY_GROUPS, EIPS,
]

__all__ = [
    "PORTAL_TAG", "RemoteKind", "SYNC_ORDER", "cloud_time", "epoch_ms", "items_at", "list_at", "tagged_by_portal",
    "ZONES", "ECS_INSTANCES", "OSS_BUCKETS", "ECS_IMAGES", "ECS_DISKS", "IMAGE_STATUSES",
    "VIRTUAL_BORDER_ROUTERS", "ROUTER_INTERFACES", "VPN_GATEWAYS", "CUSTOMER_GATEWAYS", "VPN_CONNECTIONS",
    "VPCS", "V_ROUTERS", "V_SWITCHES", "ROUTE_ENTRIES", "SECURITY_GROUPS", "EIPS",
]

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


# --- storage (H5 images, H6 disks, H10 OSS buckets) ------------------------------------------------
from .models import EcsDisk, EcsImage, OssBucket  # noqa: E402
from .models.storage import GIB, BucketState  # noqa: E402
from .storage_cloud import number_pages, oss_service, region_of_location  # noqa: E402
from .storage_config import IMAGE_SYNC_OWNERS  # noqa: E402

# every status a custom image may have (DescribeImages answers only Available ones unless asked)
IMAGE_STATUSES = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"


def _bucket_dict(info):
    """ListBuckets' item (oss2's SimplifiedBucketInfo) in the cloud's names, as the other kinds' are."""
    return {"Name": info.name, "Location": info.location, "Region": info.region or region_of_location(info.location),
            "CreationDate": info.creation_date, "StorageClass": info.storage_class,
            "ExtranetEndpoint": info.extranet_endpoint, "IntranetEndpoint": info.intranet_endpoint}


def _unix_time(item, sync):
    value = item.get("CreationDate")
    return datetime.fromtimestamp(int(value), tz=timezone.utc) if value else None


class OssBuckets(RemoteKind):
    """The account's buckets in the data centre's region (ListBuckets answers every region's)."""

    model = OssBucket
    remote_key, local_key = "Name", "bucket_name"
    fields = {
        "name": "Name", "state": lambda item, sync: BucketState.AVAILABLE, "location": "Location",
        "storage_class": "StorageClass", "extranet_endpoint": "ExtranetEndpoint",
        "intranet_endpoint": "IntranetEndpoint", "remote_created_at": _unix_time,
    }
    deleted_state = BucketState.DELETED

    def list_remote(self, cloud, data_center):
        service = oss_service(cloud)
        marker, found = "", []
        while True:
            page = cloud.oss("ListBuckets", lambda: service.list_buckets(marker=marker, max_keys=1000))
            found += [_bucket_dict(info) for info in page.buckets]
            if not page.is_truncated or not page.next_marker:
                break
            marker = page.next_marker
        return [item for item in found if item["Region"] == data_center.region_id]


def _percent(item, sync):
    text = str(item.get("Progress") or "").rstrip("%")
    return int(text) if text.isdigit() else 0


class EcsImages(RemoteKind):
    """The images of the owners ``hybrid/images.syncOwners`` names (system and the account's own by
    default: a region's marketplace has thousands)."""

    model = EcsImage
    remote_key, local_key = "ImageId", "image_id"
    fields = {
        "name": lambda item, sync: item.get("ImageName") or item["ImageId"],
        "description": "Description", "state": "Status", "owner_alias": "ImageOwnerAlias", "os_type": "OSType",
        "os_name": lambda item, sync: item.get("OSNameEn") or item.get("OSName") or "",
        "platform": "Platform", "architecture": "Architecture", "image_family": "ImageFamily",
        "size": lambda item, sync: int(item.get("Size") or 0) * GIB, "progress": _percent,
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    deleted_state = "Deleted"
    import_only = ("description",)   # PATCH changes it here (the cloud's description is not the portal's)

    def list_remote(self, cloud, data_center):
        owners = [name.strip() for name in IMAGE_SYNC_OWNERS.value().split(",") if name.strip()]
        for owner in owners:
            params = {"ImageOwnerAlias": owner, "Status": IMAGE_STATUSES}
            yield from number_pages(cloud, "Ecs", "DescribeImages", params, "Images.Image")


def _instance_pk(item, sync):
    return sync.lookups["instances"].get(item.get("InstanceId")) if item.get("InstanceId") else None


class EcsDisks(RemoteKind):
    """The data disks of the data centre (the instances' system disks go with their instances)."""

    model = EcsDisk
    remote_key, local_key = "DiskId", "disk_id"
    fields = {
        "name": lambda item, sync: item.get("DiskName") or item["DiskId"],
        "description": "Description", "state": "Status", "identity_zone_id": _zone_pk, "disk_type": "Type",
        "category": "Category", "performance_level": "PerformanceLevel",
        "size": lambda item, sync: int(item.get("Size") or 0) * GIB, "disk_charge_type": "DiskChargeType",
        "instance_id": "InstanceId", "ecs_instance_id": _instance_pk, "device": "Device",
        "portable": lambda item, sync: bool(item.get("Portable", True)),
        "delete_with_instance": lambda item, sync: bool(item.get("DeleteWithInstance")),
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    deleted_state = "Deleted"
    import_only = ("description",)   # PATCH changes it here (the cloud's description is not the portal's)

    def prepare(self, sync):
        sync.lookups["zones"] = dict(AlibabaIdentityZone.objects.filter(data_center=sync.data_center)
                                     .values_list("zone_id", "pk"))
        sync.lookups["instances"] = dict(EcsInstance.objects.filter(data_center=sync.data_center)
                                         .exclude(instance_id=None).values_list("instance_id", "pk"))

    def list_remote(self, cloud, data_center):
        return cloud.ecs_pages("DescribeDisks", {"DiskType": "data"}, "Disks.Disk")


OSS_BUCKETS = OssBuckets()
ECS_IMAGES = EcsImages()
ECS_DISKS = EcsDisks()
# after the instances: a disk looks up the instance it is attached to
SYNC_ORDER.extend([OSS_BUCKETS, ECS_IMAGES, ECS_DISKS])

# --- Express Connect and VPN (H8, H9) -------------------------------------------------------------
from .models import (CustomerGateway, RouterInterface, VirtualBorderRouter, VpnConnection,  # noqa: E402
                     VpnGateway, VpnState)


def items_at(body, path):
    """The list at ``path`` ("VpnGateways.VpnGateway") of an answer or an item ([] when absent)."""
    return _list(path)(body, None)


def tagged_by_portal(item, *paths):
    """The ``cloudportal:uuid`` tag's value in an item of the VPC product, whose listings nest their
    tags differently (``Tags.Tags``, ``Tags.Tag``, ``Tag.Tag``), else None."""
    for path in paths:
        for tag in items_at(item, path):
            if isinstance(tag, dict) and (tag.get("Key") or tag.get("TagKey")) == PORTAL_TAG:
                return tag.get("Value") or tag.get("TagValue")
    return None


def epoch_ms(value):
    """The VPN listings' times (milliseconds since the epoch) as an aware datetime; None for none."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc) if value else None
    except (TypeError, ValueError):
        return None


def _rows_by(model, column):
    def read(sync):
        return dict(model.objects.filter(data_center=sync.data_center).exclude(**{f"{column}__isnull": True})
                    .values_list(column, "pk"))
    return read


class VirtualBorderRouters(RemoteKind):
    model = VirtualBorderRouter
    remote_key, local_key = "VbrId", "vbr_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["VbrId"],
        "description": "Description",
        "state": "Status",
        "access_point_id": "AccessPointId",
        "physical_connection_id": "PhysicalConnectionId",
        "circuit_code": "CircuitCode",
        "vlan_id": lambda item, sync: int(item.get("VlanId") or 0),
        "local_gateway_ip": "LocalGatewayIp",
        "peer_gateway_ip": "PeerGatewayIp",
        "peering_subnet_mask": "PeeringSubnetMask",
        "route_table_id": "RouteTableId",
        "bandwidth": lambda item, sync: int(item.get("Bandwidth") or 0),
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    import_only = ("description",)   # PATCH changes it here

    def list_remote(self, cloud, data_center):
        return cloud_pages_by_number(cloud, "DescribeVirtualBorderRouters", {},
                                     "VirtualBorderRouterSet.VirtualBorderRouterType")


def cloud_pages_by_number(cloud, action, params, items, page_size=50):
    """Every item of a VPC listing paged with PageNumber/PageSize (the ones without NextToken)."""
    page = 1
    while True:
        body = cloud.vpc(action, {**params, "PageNumber": page, "PageSize": page_size})
        found = items_at(body, items)
        yield from found
        if not found or page * page_size >= int(body.get("TotalCount") or 0):
            return
        page += 1


class RouterInterfaces(RemoteKind):
    model = RouterInterface
    remote_key, local_key = "RouterInterfaceId", "router_interface_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["RouterInterfaceId"],
        "description": "Description",
        "state": "Status",
        "role": "Role",
        "router_type": "RouterType",
        "router_id": "RouterId",
        "virtual_border_router_id": lambda item, sync: sync.lookups["vbrs"].get(item.get("RouterId")),
        "spec": "Spec",
        "bandwidth": lambda item, sync: int(item.get("Bandwidth") or 0),
        "vpc_id": "VpcInstanceId",
        "access_point_id": "AccessPointId",
        "opposite_interface_id": "OppositeInterfaceId",
        "opposite_router_id": "OppositeRouterId",
        "opposite_router_type": "OppositeRouterType",
        "opposite_region_id": "OppositeRegionId",
        "opposite_vpc_id": "OppositeVpcInstanceId",
        "connected_at": lambda item, sync: cloud_time(item.get("ConnectedTime")),
        "remote_created_at": lambda item, sync: cloud_time(item.get("CreationTime")),
    }
    import_only = ("description",)   # PATCH changes it here

    def prepare(self, sync):
        sync.lookups["vbrs"] = _rows_by(VirtualBorderRouter, "vbr_id")(sync)

    def created_by(self, item):
        return tagged_by_portal(item, "Tags.Tags", "Tags.Tag")

    def list_remote(self, cloud, data_center):
        return cloud_pages_by_number(cloud, "DescribeRouterInterfaces", {}, "RouterInterfaceSet.RouterInterfaceType")


class VpnGateways(RemoteKind):
    model = VpnGateway
    remote_key, local_key = "VpnGatewayId", "vpn_gateway_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["VpnGatewayId"],
        "description": "Description",
        "state": "Status",
        "vpc_id": "VpcId",
        "v_switch_id": "VSwitchId",
        "internet_ip": "InternetIp",
        "spec": "Spec",
        "network_type": "NetworkType",
        "ipsec_vpn": "IpsecVpn",
        "ssl_vpn": "SslVpn",
        "charge_type": "ChargeType",
        "business_status": "BusinessStatus",
        "remote_created_at": lambda item, sync: epoch_ms(item.get("CreateTime")),
    }
    import_only = ("description",)   # PATCH changes it here
    deleted_state = VpnState.DELETED

    def list_remote(self, cloud, data_center):
        return cloud_pages_by_number(cloud, "DescribeVpnGateways", {}, "VpnGateways.VpnGateway")


class CustomerGateways(RemoteKind):
    model = CustomerGateway
    remote_key, local_key = "CustomerGatewayId", "customer_gateway_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["CustomerGatewayId"],
        "description": "Description",
        "state": lambda item, sync: VpnState.AVAILABLE,
        "ip_address": "IpAddress",
        "asn": lambda item, sync: str(item.get("Asn") or ""),
        "remote_created_at": lambda item, sync: epoch_ms(item.get("CreateTime")),
    }
    import_only = ("description",)   # PATCH changes it here
    deleted_state = VpnState.DELETED

    def created_by(self, item):
        return tagged_by_portal(item, "Tags.Tag", "Tag.Tag")

    def list_remote(self, cloud, data_center):
        return cloud_pages_by_number(cloud, "DescribeCustomerGateways", {}, "CustomerGateways.CustomerGateway")


def _config(group, key, number=False):
    """A key of the connection's ``IkeConfig``/``IpsecConfig`` (``group``)."""
    def read(item, sync):
        value = (item.get(group) or {}).get(key)
        if number:
            return int(value or 0)
        return "" if value is None else str(value)
    return read


class VpnConnections(RemoteKind):
    model = VpnConnection
    remote_key, local_key = "VpnConnectionId", "vpn_connection_id"
    fields = {
        "name": lambda item, sync: item.get("Name") or item["VpnConnectionId"],
        "state": "Status",
        "vpn_gateway_id": "VpnGatewayId",
        "customer_gateway_id": "CustomerGatewayId",
        "gateway_id": lambda item, sync: sync.lookups["vpn_gateways"].get(item.get("VpnGatewayId")),
        "customer_id": lambda item, sync: sync.lookups["customer_gateways"].get(
            item.get("CustomerGatewayId")),
        "local_subnet": "LocalSubnet",
        "remote_subnet": "RemoteSubnet",
        "effect_immediately": lambda item, sync: bool(item.get("EffectImmediately")),
        "enable_dpd": lambda item, sync: bool(item.get("EnableDpd")),
        "enable_nat_traversal": lambda item, sync: bool(item.get("EnableNatTraversal")),
        "ike_version": _config("IkeConfig", "IkeVersion"),
        "ike_mode": _config("IkeConfig", "IkeMode"),
        "ike_enc_alg": _config("IkeConfig", "IkeEncAlg"),
        "ike_auth_alg": _config("IkeConfig", "IkeAuthAlg"),
        "ike_pfs": _config("IkeConfig", "IkePfs"),
        "ike_lifetime": _config("IkeConfig", "IkeLifetime", number=True),
        "ike_local_id": _config("IkeConfig", "LocalId"),
        "ike_remote_id": _config("IkeConfig", "RemoteId"),
        "ipsec_enc_alg": _config("IpsecConfig", "IpsecEncAlg"),
        "ipsec_auth_alg": _config("IpsecConfig", "IpsecAuthAlg"),
        "ipsec_pfs": _config("IpsecConfig", "IpsecPfs"),
        "ipsec_lifetime": _config("IpsecConfig", "IpsecLifetime", number=True),
        "remote_created_at": lambda item, sync: epoch_ms(item.get("CreateTime")),
    }
    deleted_state = VpnState.DELETED

    def prepare(self, sync):
        sync.lookups["vpn_gateways"] = _rows_by(VpnGateway, "vpn_gateway_id")(sync)
        sync.lookups["customer_gateways"] = _rows_by(CustomerGateway, "customer_gateway_id")(sync)

    def created_by(self, item):
        return tagged_by_portal(item, "Tag.Tag", "Tags.Tag")

    def list_remote(self, cloud, data_center):
        return cloud_pages_by_number(cloud, "DescribeVpnConnections", {}, "VpnConnections.VpnConnection")


VIRTUAL_BORDER_ROUTERS = VirtualBorderRouters()
ROUTER_INTERFACES = RouterInterfaces()
VPN_GATEWAYS = VpnGateways()
CUSTOMER_GATEWAYS = CustomerGateways()
VPN_CONNECTIONS = VpnConnections()
# interfaces look up their VBRs, connections their gateways
SYNC_ORDER += [VIRTUAL_BORDER_ROUTERS, ROUTER_INTERFACES, VPN_GATEWAYS, CUSTOMER_GATEWAYS, VPN_CONNECTIONS]

"""The zones of a data centre and its ECS instances (H2, H3)."""
from ..models import AlibabaIdentityZone, EcsInstance
from ..models.data_center import RemoteState
from ..models.ecs import EcsState, MIB
from .base import RemoteKind, cloud_time, list_at


class Zones(RemoteKind):
    model = AlibabaIdentityZone
    remote_key, local_key = "ZoneId", "zone_id"
    fields = {
        # the zone's id names it everywhere (pickers, lists): the local name is in the cloud's language
        "name": "ZoneId",
        "local_name": "LocalName",
        "available_instance_types": list_at("AvailableInstanceTypes.InstanceTypes"),
        "state": lambda item, sync: RemoteState.AVAILABLE,
    }
    deleted_state = RemoteState.DELETED

    def list_remote(self, cloud, data_center):
        return cloud.ecs("DescribeZones", {}).get("Zones", {}).get("Zone", [])


def zone_pk(item, sync):
    return sync.lookups["zones"].get(item.get("ZoneId"))


def _private_ips(item, sync):
    in_vpc = list_at("VpcAttributes.PrivateIpAddress.IpAddress")(item, sync)
    return in_vpc or list_at("InnerIpAddress.IpAddress")(item, sync)   # a classic-network instance


class EcsInstances(RemoteKind):
    model = EcsInstance
    remote_key, local_key = "InstanceId", "instance_id"
    fields = {
        "name": lambda item, sync: item.get("InstanceName") or item["InstanceId"],
        "description": "Description",
        "state": "Status",
        "identity_zone_id": zone_pk,
        "instance_type": "InstanceType",
        "image_id": "ImageId",
        "cpu_num": lambda item, sync: int(item.get("Cpu") or 0),
        "memory_size": lambda item, sync: int(item.get("Memory") or 0) * MIB,
        "instance_charge_type": "InstanceChargeType",
        "internet_charge_type": "InternetChargeType",
        "internet_max_bandwidth_out": lambda item, sync: int(item.get("InternetMaxBandwidthOut") or 0),
        "vpc_id": lambda item, sync: (item.get("VpcAttributes") or {}).get("VpcId") or "",
        "v_switch_id": lambda item, sync: (item.get("VpcAttributes") or {}).get("VSwitchId") or "",
        "security_group_ids": list_at("SecurityGroupIds.SecurityGroupId"),
        "private_ips": _private_ips,
        "public_ips": list_at("PublicIpAddress.IpAddress"),
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

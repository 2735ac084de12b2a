"""ECS instance records: how one is built, found and checked, and the timed plans that move its
Status (Pending → Starting → Running → Stopping → Stopped) as the real service does over seconds."""
import ipaddress
import secrets
import time
import uuid

from .errors import ApiError, incorrect_status, not_found
from .instance_types import INSTANCE_TYPES
from .system_images import os_of

TABLE = "instances"
NEVER_EXPIRES = "2099-12-31T15:59Z"


def api_time(seconds=None):
    """ECS answers times to the minute in UTC: 2026-12-07T08:12Z."""
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(seconds if seconds is not None else time.time()))


def find(call, instance_id):
    """The instance record of the caller's account: in the call's region, or in any region for the
    singular actions the SDK sends without RegionId (StartInstance, DescribeInstanceAttribute, ...)."""
    if call.region:
        record = call.table(TABLE).get(instance_id)
    else:
        record = next((rows[instance_id] for account, _, rows in call.emulator.regional_tables(TABLE)
                       if account == call.account and instance_id in rows), None)
    if record is None:
        raise not_found("InvalidInstanceId.NotFound", "InstanceId", instance_id)
    return record


def require_status(record, *allowed):
    if record["Status"] not in allowed:
        raise incorrect_status("instance", record["InstanceId"], record["Status"])


def schedule(call, record, steps):
    call.emulator.schedule(call.account, record["RegionId"], TABLE, record["InstanceId"], steps)


def start(call, record):
    """Stopped → Starting now → Running one transition later."""
    call.emulator.cancel_transitions(record)
    record["Status"] = "Starting"
    schedule(call, record, [{"Status": "Running", "StoppedMode": "Not-applicable",
                             "StartTime": api_time(call.now() + call.emulator.transition_seconds)}])


def stop(call, record, stopped_mode="KeepCharging"):
    call.emulator.cancel_transitions(record)
    record["Status"] = "Stopping"
    schedule(call, record, [{"Status": "Stopped", "StoppedMode": stopped_mode}])


def reboot(call, record):
    call.emulator.cancel_transitions(record)
    record["Status"] = "Stopping"
    later = api_time(call.now() + 2 * call.emulator.transition_seconds)
    schedule(call, record, [{"Status": "Starting"}, {"Status": "Running", "StartTime": later}])


def _random_public_ip():
    return f"47.{secrets.randbelow(120) + 90}.{secrets.randbelow(256)}.{secrets.randbelow(253) + 1}"


def _mac():
    return "00:16:3e:" + ":".join(f"{secrets.randbelow(256):02x}" for _ in range(3))


class PrivateIps:
    """Hands out free addresses of a vSwitch's CIDR (the first three and last three are reserved,
    as on Alibaba Cloud), skipping those the account's instances in it already hold."""

    def __init__(self, call, vswitch_id, cidr_block):
        network = ipaddress.ip_network(cidr_block or "172.16.0.0/16", strict=False)
        used = {r["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
                for r in call.table(TABLE).values()
                if r.get("VpcAttributes", {}).get("VSwitchId") == vswitch_id
                and r["VpcAttributes"]["PrivateIpAddress"]["IpAddress"]}
        self._candidates = (str(network.network_address + offset) for offset in range(3, network.num_addresses - 3))
        self._used = used

    def take(self, wanted=None):
        if wanted:
            if wanted in self._used:
                raise ApiError(400, "InvalidPrivateIpAddress.Duplicated",
                               f"The specified private IP address \"{wanted}\" is already in use.")
            self._used.add(wanted)
            return wanted
        for address in self._candidates:
            if address not in self._used:
                self._used.add(address)
                return address
        return None


def new_record(call, *, instance_id, name, host_name, description, image_id, instance_type, zone_id, vpc_id,
               vswitch_id, private_ip, security_group_ids, charge_type, internet_charge_type, bandwidth_out,
               bandwidth_in, tags, key_pair_name, deletion_protection, resource_group_id, image=None,
               period_months=None):
    spec = INSTANCE_TYPES[instance_type]
    os_name, os_name_en, os_type = os_of(image_id, image)
    now = call.now()
    public_ips = [_random_public_ip()] if bandwidth_out > 0 else []
    expires = api_time(now + period_months * 30 * 86400) if period_months else NEVER_EXPIRES
    return {
        "InstanceId": instance_id, "InstanceName": name, "Description": description, "HostName": host_name,
        "ImageId": image_id, "InstanceType": instance_type, "InstanceTypeFamily": spec["InstanceTypeFamily"],
        "Cpu": spec["CpuCoreCount"], "Memory": int(spec["MemorySize"] * 1024), "GPUAmount": 0, "GPUSpec": "",
        "OSName": os_name, "OSNameEn": os_name_en, "OSType": os_type,
        "RegionId": call.region, "ZoneId": zone_id, "Status": "Pending",
        "CreationTime": api_time(now), "StartTime": "", "ExpiredTime": expires,
        "InstanceChargeType": charge_type, "InternetChargeType": internet_charge_type,
        "InternetMaxBandwidthOut": bandwidth_out, "InternetMaxBandwidthIn": bandwidth_in,
        "InstanceNetworkType": "vpc", "IoOptimized": True, "DeviceAvailable": True,
        "VpcAttributes": {"VpcId": vpc_id, "VSwitchId": vswitch_id, "NatIpAddress": "",
                          "PrivateIpAddress": {"IpAddress": [private_ip] if private_ip else []}},
        "InnerIpAddress": {"IpAddress": []}, "PublicIpAddress": {"IpAddress": public_ips},
        "EipAddress": {"AllocationId": "", "IpAddress": "", "Bandwidth": 0, "InternetChargeType": "",
                       "IsSupportUnassociate": True},
        "SecurityGroupIds": {"SecurityGroupId": list(security_group_ids)},
        "NetworkInterfaces": {"NetworkInterface": [{
            "NetworkInterfaceId": call.emulator.new_id("eni"), "MacAddress": _mac(), "Type": "Primary",
            "PrimaryIpAddress": private_ip or "",
            "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": private_ip or "", "Primary": True}]},
        }]},
        "Tags": {"Tag": tags}, "OperationLocks": {"LockReason": []}, "KeyPairName": key_pair_name or "",
        "DeletionProtection": deletion_protection, "ResourceGroupId": resource_group_id or "",
        "SerialNumber": str(uuid.uuid4()), "SpotStrategy": "NoSpot", "StoppedMode": "Not-applicable",
        "Recyclable": False, "LocalStorageAmount": 0, "LocalStorageCapacity": 0, "VlanId": "", "ClusterId": "",
        "HpcClusterId": "", "CreditSpecification": "Standard" if spec["InstanceTypeFamily"] == "ecs.t6" else "",
    }

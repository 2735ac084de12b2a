"""Elastic IP addresses: AllocateEipAddress, DescribeEipAddresses, AssociateEipAddress (to an ECS
instance of the same region), UnassociateEipAddress, ReleaseEipAddress (refused while associated),
ModifyEipAddressAttribute. Associating → InUse and Unassociating → Available take a moment; the
instance shows the address in its EipAddress as soon as the association starts."""
import ipaddress
import random

from . import events, resource_names, resource_tags
from .client_tokens import idempotent
from .errors import ApiError, invalid_parameter, not_found, quota_exceeded
from .paging import by_page_number
from .registry import action
from .resource_groups import resource_group
from .state import public
from .timestamps import creation_order, iso_seconds

# public address pools per region, shaped like the ranges Alibaba Cloud announces there
ADDRESS_POOLS = {
    "cn-hangzhou": ("47.96.0.0/16", "118.178.0.0/16"),
    "cn-shanghai": ("47.100.0.0/16", "106.14.0.0/16"),
    "cn-beijing": ("39.105.0.0/16", "47.93.0.0/16"),
    "ap-southeast-1": ("47.74.0.0/16", "8.219.0.0/16"),
    "us-west-1": ("47.88.0.0/16", "47.251.0.0/16"),
    "eu-central-1": ("47.254.0.0/16", "8.209.0.0/16"),
}
INTERNET_CHARGE_TYPES = ("PayByBandwidth", "PayByTraffic")
MAX_BANDWIDTH = {"PayByBandwidth": 500, "PayByTraffic": 200}
ASSOCIABLE_INSTANCE_STATUSES = ("Running", "Stopped")


def find_eip(call, allocation_id):
    eip = call.table("eips").get(allocation_id)
    if eip is None:
        raise not_found("InvalidAllocationId.NotFound", "AllocationId", allocation_id)
    return eip


def _incorrect_status(eip):
    return ApiError(400, "IncorrectEipStatus",
                    f"The current status of the EIP \"{eip['AllocationId']}\" ({eip['Status']}) "
                    "does not support this operation.")


def _bandwidth(value, charge_type):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid_parameter("Bandwidth", value, code="InvalidBandwidth.Malformed") from None
    if not 1 <= number <= MAX_BANDWIDTH[charge_type]:
        raise invalid_parameter("Bandwidth", value, code="InvalidBandwidth.Malformed")
    return str(number)


def _free_address(call):
    taken = {e["IpAddress"] for _, _, rows in call.emulator.regional_tables("eips") for e in rows.values()}
    pools = [ipaddress.IPv4Network(n) for n in ADDRESS_POOLS.get(call.region, ("203.0.113.0/24",))]
    chooser = random.SystemRandom()
    for _ in range(1000):
        pool = chooser.choice(pools)
        address = str(pool[chooser.randrange(2, pool.num_addresses - 1)])
        if address not in taken:
            return address
    raise ApiError(403, "QuotaExceeded.Eip", "No public address is left in this region.")


@action("Vpc", "AllocateEipAddress")
@idempotent
def allocate_eip_address(call):
    p = call.params
    internet_charge = p.str("InternetChargeType", default="PayByBandwidth", choices=INTERNET_CHARGE_TYPES)
    instance_charge = p.str("InstanceChargeType", default="PostPaid", choices=("PostPaid", "PrePaid"))
    bandwidth = _bandwidth(p.str("Bandwidth", default="5"), internet_charge)
    isp = p.str("ISP", default="BGP", choices=("BGP", "BGP_PRO", "ChinaTelecom", "ChinaUnicom", "ChinaMobile"))
    name = resource_names.name(p.str("Name"), "Name", "InvalidName.Malformed")
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    tags = resource_tags.requested(p, "Key", "Value")
    eips = call.table("eips")
    if len(eips) >= call.quota("max_eips"):
        raise quota_exceeded("QuotaExceeded.Eip", "The maximum number of EIPs in this region is reached.")
    resource_names.dry_run(call)

    now = call.now()
    allocation_id = call.emulator.new_id("eip")
    eips[allocation_id] = {
        "AllocationId": allocation_id, "IpAddress": _free_address(call), "RegionId": call.region,
        "Status": "Available", "Name": name or "", "Description": description or "", "Bandwidth": bandwidth,
        "EipBandwidth": bandwidth, "InternetChargeType": internet_charge, "ChargeType": instance_charge,
        "AllocationTime": iso_seconds(now), "ExpiredTime": "", "InstanceId": "", "InstanceType": "",
        "InstanceRegionId": "", "PrivateIpAddress": "", "VpcId": "", "ISP": isp, "Netmode": "public",
        "Mode": "NAT", "BusinessStatus": "Normal", "DeletionProtection": False, "SecondLimited": False,
        "HasReservationData": "false", "BandwidthPackageId": "", "BandwidthPackageType": "",
        "BandwidthPackageBandwidth": "", "ResourceGroupId": resource_group(call), "ServiceManaged": 0,
        "PublicIpAddressPoolId": "", "SegmentInstanceId": "", "Zone": "", "HDMonitorStatus": "OFF",
        "OperationLocks": {"LockReason": []}, "SecurityProtectionTypes": {"SecurityProtectionType": []},
        "Tags": {"Tag": tags}, "_created": now,
    }
    answer = {"AllocationId": allocation_id, "EipAddress": eips[allocation_id]["IpAddress"],
              "ResourceGroupId": eips[allocation_id]["ResourceGroupId"]}
    if instance_charge == "PrePaid":
        answer["OrderId"] = random.SystemRandom().randrange(10 ** 14, 10 ** 15)
    return answer


@action("Vpc", "DescribeEipAddresses")
def describe_eip_addresses(call):
    p = call.params
    allocation_ids = {a.strip() for a in (p.str("AllocationId") or "").split(",") if a.strip()}
    addresses = {a.strip() for a in (p.str("EipAddress") or "").split(",") if a.strip()}
    if len(allocation_ids) > 50 or len(addresses) > 50:
        raise invalid_parameter("AllocationId", code="InvalidParameter.AllocationId")
    wanted = {"Status": p.str("Status"), "InstanceType": p.str("AssociatedInstanceType"),
              "InstanceId": p.str("AssociatedInstanceId"), "ChargeType": p.str("ChargeType"),
              "Name": p.str("EipName"), "ISP": p.str("ISP"), "ResourceGroupId": p.str("ResourceGroupId")}
    rows = []
    for eip in creation_order(call.table("eips").values(), "AllocationId"):
        if allocation_ids and eip["AllocationId"] not in allocation_ids:
            continue
        if addresses and eip["IpAddress"] not in addresses:
            continue
        if any(value is not None and eip[field] != value for field, value in wanted.items()):
            continue
        if not resource_tags.matches(eip["Tags"]["Tag"], p, "Key", "Value"):
            continue
        rows.append(eip)
    page, info = by_page_number(rows, p, default_size=10, max_size=100)
    return {"EipAddresses": {"EipAddress": [public(e) for e in page]}, **info}


@action("Vpc", "AssociateEipAddress")
@idempotent
def associate_eip_address(call):
    p = call.params
    eip = find_eip(call, p.str("AllocationId", required=True))
    instance_type = p.str("InstanceType", default="EcsInstance")
    if instance_type != "EcsInstance":
        raise ApiError(400, "InvalidInstanceType.ValueNotSupported",
                       f"The emulator associates EIPs with ECS instances only, not \"{instance_type}\".")
    instance_region = p.str("InstanceRegionId")
    if instance_region and instance_region != call.region:
        raise ApiError(400, "InvalidRegionId.Mismatch",
                       f"The EIP is in {call.region} and the instance region is {instance_region}: "
                       "an EIP is associated with an instance of its own region.")
    instance_id = p.str("InstanceId", required=True)
    instance = call.table("instances").get(instance_id)
    if instance is None:
        raise not_found("InvalidInstanceId.NotFound", "InstanceId", instance_id)
    if eip["Status"] != "Available":
        raise _incorrect_status(eip)
    if instance.get("Status") not in ASSOCIABLE_INSTANCE_STATUSES:
        raise ApiError(400, "IncorrectInstanceStatus",
                       f"The current status of the instance \"{instance_id}\" ({instance.get('Status')}) "
                       "does not support this operation.")
    if (instance.get("EipAddress") or {}).get("AllocationId"):
        raise ApiError(400, "InvalidInstanceId.AlreadyBindEip",
                       f"The instance \"{instance_id}\" already has the EIP \"{instance['EipAddress']['AllocationId']}\".")
    resource_names.dry_run(call)
    vpc_attributes = instance.get("VpcAttributes") or {}
    private_ips = (vpc_attributes.get("PrivateIpAddress") or {}).get("IpAddress") or [""]
    eip.update({"Status": "Associating", "InstanceId": instance_id, "InstanceType": "EcsInstance",
                "InstanceRegionId": call.region, "VpcId": vpc_attributes.get("VpcId", ""),
                "PrivateIpAddress": p.str("PrivateIpAddress", default=private_ips[0]),
                "Mode": p.str("Mode", default="NAT")})
    instance["EipAddress"] = {"AllocationId": eip["AllocationId"], "IpAddress": eip["IpAddress"],
                              "Bandwidth": int(eip["Bandwidth"]), "InternetChargeType": eip["InternetChargeType"],
                              "IsSupportUnassociate": True}
    call.schedule("eips", eip["AllocationId"], [{"Status": "InUse"}])
    return {}


@action("Vpc", "UnassociateEipAddress")
@idempotent
def unassociate_eip_address(call):
    p = call.params
    eip = find_eip(call, p.str("AllocationId", required=True))
    instance_id = p.str("InstanceId", required=True)
    if eip["Status"] != "InUse":
        raise _incorrect_status(eip)
    if eip["InstanceId"] != instance_id:
        raise ApiError(400, "IncorrectInstanceStatus",
                       f"The EIP \"{eip['AllocationId']}\" is not associated with the instance \"{instance_id}\".")
    resource_names.dry_run(call)
    eip["Status"] = "Unassociating"
    _clear_instance(call, instance_id, eip["AllocationId"])
    call.schedule("eips", eip["AllocationId"], [_unassociated()])
    return {}


def _unassociated():
    return {"Status": "Available", "InstanceId": "", "InstanceType": "", "InstanceRegionId": "",
            "PrivateIpAddress": "", "VpcId": ""}


def _clear_instance(call, instance_id, allocation_id):
    instance = call.table("instances").get(instance_id)
    if instance is not None and (instance.get("EipAddress") or {}).get("AllocationId") == allocation_id:
        instance["EipAddress"] = {"AllocationId": "", "IpAddress": "", "Bandwidth": 0, "InternetChargeType": "",
                                  "IsSupportUnassociate": False}


@action("Vpc", "ReleaseEipAddress")
def release_eip_address(call):
    eip = find_eip(call, call.params.str("AllocationId", required=True))
    if eip["Status"] != "Available":
        raise _incorrect_status(eip)
    del call.table("eips")[eip["AllocationId"]]
    return {}


@action("Vpc", "ModifyEipAddressAttribute")
def modify_eip_address_attribute(call):
    p = call.params
    eip = find_eip(call, p.str("AllocationId", required=True))
    name = resource_names.name(p.str("Name"), "Name", "InvalidName.Malformed")
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed")
    if "Bandwidth" in p:
        eip["Bandwidth"] = eip["EipBandwidth"] = _bandwidth(p.str("Bandwidth"), eip["InternetChargeType"])
        instance = call.table("instances").get(eip["InstanceId"]) if eip["InstanceId"] else None
        if instance is not None and (instance.get("EipAddress") or {}).get("AllocationId") == eip["AllocationId"]:
            instance["EipAddress"]["Bandwidth"] = int(eip["Bandwidth"])
    if name is not None:
        eip["Name"] = name
    if description is not None:
        eip["Description"] = description
    return {}


def _instance_deleted(call, instance):
    """A released instance lets go of its EIP, which stays allocated (Available)."""
    for eip in call.table("eips", region=instance.get("RegionId")).values():
        if eip["InstanceId"] == instance.get("InstanceId"):
            call.emulator.cancel_transitions(eip)
            eip.update(_unassociated())


events.subscribe("instance_deleted", _instance_deleted)

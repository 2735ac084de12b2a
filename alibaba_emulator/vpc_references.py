"""Looking up the VPCs, vSwitches and VRouters that Express Connect and VPN resources hang off.
They live in the `vpcs`, `vswitches` and `vrouters` tables that the VPC module fills, with the
fields DescribeVpcs / DescribeVSwitches / DescribeVRouters answer (VpcId, VRouterId, CidrBlock,
ZoneId, ...). While no module declares Vpc.CreateVpc (an emulator built without it), ids are
taken on trust, as RunInstances does for vSwitches before CreateVSwitch exists."""
from . import registry
from .errors import not_found


def _vpcs_are_emulated():
    return registry.find("Vpc", "CreateVpc") is not None


def _rows(emulator, account, region, table):
    # read without creating: a lookup must not add empty tables for accounts it only peeks at
    return emulator.data["accounts"].get(account, {}).get("regions", {}).get(region, {}).get(table, {})


def find_vpc(call, vpc_id):
    """The VPC record ({"VpcId", "VRouterId", "CidrBlock", ...}); InvalidVpcId.NotFound if absent."""
    record = _rows(call.emulator, call.account, call.region, "vpcs").get(vpc_id)
    if record is not None:
        return record
    if _vpcs_are_emulated() or not vpc_id.startswith("vpc-"):
        raise not_found("InvalidVpcId.NotFound", "VpcId", vpc_id)
    return {"VpcId": vpc_id, "VRouterId": "", "CidrBlock": "172.16.0.0/12"}


def find_vswitch(call, vswitch_id, vpc_id):
    """The vSwitch record of that VPC; InvalidVSwitchId.NotFound if absent or in another VPC."""
    record = _rows(call.emulator, call.account, call.region, "vswitches").get(vswitch_id)
    if record is not None and record.get("VpcId") == vpc_id:
        return record
    if record is None and not _vpcs_are_emulated() and vswitch_id.startswith("vsw-"):
        return {"VSwitchId": vswitch_id, "VpcId": vpc_id, "ZoneId": "", "CidrBlock": ""}
    raise not_found("InvalidVSwitchId.NotFound", "VSwitchId", vswitch_id)


def vswitches_of(call, vpc_id):
    """The vSwitches of a VPC, oldest first."""
    rows = [r for r in _rows(call.emulator, call.account, call.region, "vswitches").values()
            if r.get("VpcId") == vpc_id]
    return sorted(rows, key=lambda r: (r.get("CreationTime", ""), r.get("VSwitchId", "")))


def vrouter_vpc_id(emulator, account, region, vrouter_id):
    """The id of the VPC a VRouter belongs to, "" when taken on trust, or None when unknown."""
    vrouter = _rows(emulator, account, region, "vrouters").get(vrouter_id)
    if vrouter is not None:
        return vrouter.get("VpcId", "")
    for vpc in _rows(emulator, account, region, "vpcs").values():
        if vpc.get("VRouterId") == vrouter_id:
            return vpc["VpcId"]
    if not _vpcs_are_emulated() and vrouter_id.startswith("vrt-"):
        return ""
    return None

"""Looking up the VPCs, vSwitches and VRouters that Express Connect and VPN resources hang off.
They live in the `vpcs`, `vswitches` and `vrouters` tables of the VPC modules (vpc_vpcs,
vpc_vswitches), with the fields DescribeVpcs / DescribeVSwitches / DescribeVRouters answer."""
from .errors import not_found
from .timestamps import creation_order
from .vpc_vpcs import find_vpc as _find_vpc
from .vpc_vpcs import require_available


def _rows(emulator, account, region, table):
    # read without creating: a lookup must not add empty tables for accounts it only peeks at
    return emulator.data["accounts"].get(account, {}).get("regions", {}).get(region, {}).get(table, {})


def find_vpc(call, vpc_id):
    """The VPC record, which must be Available; InvalidVpcId.NotFound / IncorrectVpcStatus."""
    vpc = _find_vpc(call, vpc_id)
    require_available(vpc)
    return vpc


def find_vswitch(call, vswitch_id, vpc_id):
    """The vSwitch record of that VPC; InvalidVSwitchId.NotFound if absent or in another VPC."""
    record = call.table("vswitches").get(vswitch_id)
    if record is None or record.get("VpcId") != vpc_id:
        raise not_found("InvalidVSwitchId.NotFound", "VSwitchId", vswitch_id)
    return record


def vswitches_of(call, vpc_id):
    """The vSwitches of a VPC, oldest first."""
    return creation_order([r for r in call.table("vswitches").values() if r.get("VpcId") == vpc_id], "VSwitchId")


def vrouter_vpc_id(emulator, account, region, vrouter_id):
    """The id of the VPC a VRouter belongs to, or None when there is no such VRouter."""
    vrouter = _rows(emulator, account, region, "vrouters").get(vrouter_id)
    return vrouter.get("VpcId", "") if vrouter is not None else None

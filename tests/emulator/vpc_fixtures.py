"""Helpers shared by the Express Connect and VPN tests: a VPC (with its VRouter, route table and a
vSwitch) to hang links and gateways off, and a wait for a timed status."""
import time
from collections import namedtuple

from alibabacloud_vpc20160428 import models as vpc_models

REGION = "cn-hangzhou"

Network = namedtuple("Network", "vpc_id vrouter_id vswitch_id route_table_id")


def make_vpc(vpc_client, cidr="10.20.0.0/16"):
    """A new VPC and one vSwitch in it, both Available."""
    vpc = vpc_client.create_vpc(vpc_models.CreateVpcRequest(region_id=REGION, cidr_block=cidr)).body
    wait_for(lambda: vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(
        region_id=REGION, vpc_id=vpc.vpc_id)).body.vpcs.vpc[0].status, "Available")
    vswitch = vpc_client.create_vswitch(vpc_models.CreateVSwitchRequest(
        region_id=REGION, vpc_id=vpc.vpc_id, zone_id=f"{REGION}-h", cidr_block=cidr.replace(".0.0/16", ".1.0/24"))).body
    wait_for(lambda: vpc_client.describe_vswitches(vpc_models.DescribeVSwitchesRequest(
        region_id=REGION, v_switch_id=vswitch.v_switch_id)).body.v_switches.v_switch[0].status, "Available")
    return Network(vpc.vpc_id, vpc.vrouter_id, vswitch.v_switch_id, vpc.route_table_id)


def wait_for(read, expected, timeout=5.0):
    """Poll `read()` until it returns `expected`; answers the value seen last."""
    deadline = time.monotonic() + timeout
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    assert value == expected, f"still {value!r}, expected {expected!r}"
    return value

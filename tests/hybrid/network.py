"""A vSwitch and a security group for the instances the hybrid tests create (the emulator checks
RunInstances' VSwitchId and SecurityGroupId, as the real service does). Made through the portal's
own client layer (apps.hybrid.cloud), pointed at the emulator by the ``cloud`` fixture."""
import time

from apps.hybrid.cloud import Cloud
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET

REGION = "cn-hangzhou"


def _until_available(read, timeout=10.0):
    deadline = time.monotonic() + timeout
    while read() != "Available":
        assert time.monotonic() < deadline, "the test network did not become Available"
        time.sleep(0.05)


def instance_network(zone_id="cn-hangzhou-h"):
    """``{"v_switch_id", "security_group_id"}`` in ``zone_id`` of the demo account (made once per
    emulator reset)."""
    cloud = Cloud(DEMO_KEY_ID, REGION, DEMO_KEY_SECRET)
    vpcs = cloud.vpc("DescribeVpcs", {"VpcName": "hybrid-tests"})["Vpcs"]["Vpc"]
    vpc_id = vpcs[0]["VpcId"] if vpcs else cloud.vpc("CreateVpc", {"VpcName": "hybrid-tests",
                                                                   "CidrBlock": "10.0.0.0/8"})["VpcId"]
    _until_available(lambda: cloud.vpc("DescribeVpcs", {"VpcId": vpc_id})["Vpcs"]["Vpc"][0]["Status"])
    switches = cloud.vpc("DescribeVSwitches", {"VpcId": vpc_id, "ZoneId": zone_id})["VSwitches"]["VSwitch"]
    if switches:
        switch_id = switches[0]["VSwitchId"]
    else:
        taken = cloud.vpc("DescribeVSwitches", {"VpcId": vpc_id})["TotalCount"]
        switch_id = cloud.vpc("CreateVSwitch", {"VpcId": vpc_id, "ZoneId": zone_id,
                                                "CidrBlock": f"10.{taken + 1}.0.0/16"})["VSwitchId"]
    _until_available(lambda: cloud.vpc("DescribeVSwitches", {"VSwitchId": switch_id})["VSwitches"]["VSwitch"][0][
        "Status"])
    groups = cloud.ecs("DescribeSecurityGroups", {"VpcId": vpc_id})["SecurityGroups"]["SecurityGroup"]
    group_id = groups[0]["SecurityGroupId"] if groups else cloud.ecs(
        "CreateSecurityGroup", {"VpcId": vpc_id, "SecurityGroupName": "hybrid-tests"})["SecurityGroupId"]
    return {"v_switch_id": switch_id, "security_group_id": group_id}

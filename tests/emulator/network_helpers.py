"""A VPC with a vSwitch per zone and a security group, for tests that start instances once the
emulator checks RunInstances' VSwitchId and SecurityGroupId (it does when it emulates VPC and
security groups). VPC actions go through whichever SDK client the test holds, with the SDK's
generic call_api: both products answer on the emulator's one endpoint."""
import time

from alibabacloud_tea_openapi import utils_models as open_api_util_models
from alibabacloud_tea_openapi.utils import Utils
from darabonba.runtime import RuntimeOptions

TEST_VPC_NAME = "emulator-tests"
TEST_VPC_CIDR = "10.0.0.0/8"


def call(client, product_version, action, **query):
    """One RPC action of any product (version) through an SDK client; answers the JSON body."""
    params = open_api_util_models.Params(action=action, version=product_version, protocol="HTTPS", pathname="/",
                                         method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                         body_type="json")
    request = open_api_util_models.OpenApiRequest(query=Utils.query({k: v for k, v in query.items() if v is not None}))
    return client.call_api(params, request, RuntimeOptions())["body"]


def vpc_call(client, action, **query):
    return call(client, "2016-04-28", action, **query)


def ecs_call(client, action, **query):
    return call(client, "2014-05-26", action, **query)


def wait_until_available(client, region, action, answer_key, id_key, resource_id, timeout=10.0):
    """Poll DescribeVpcs/DescribeVSwitches until the resource is Available."""
    deadline = time.monotonic() + timeout
    while True:
        answer = vpc_call(client, action, RegionId=region, **{id_key: resource_id})[answer_key]
        rows = next(iter(answer.values()))
        if rows and rows[0]["Status"] == "Available":
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{resource_id} still {rows[0]['Status'] if rows else 'missing'}")
        time.sleep(0.05)


def instance_network(client, region, zone_id):
    """(vSwitch id in zone_id, security group id) of the tests' VPC, made on first use."""
    vpcs = vpc_call(client, "DescribeVpcs", RegionId=region, VpcName=TEST_VPC_NAME)["Vpcs"]["Vpc"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
    else:
        vpc_id = vpc_call(client, "CreateVpc", RegionId=region, VpcName=TEST_VPC_NAME, CidrBlock=TEST_VPC_CIDR)["VpcId"]
    wait_until_available(client, region, "DescribeVpcs", "Vpcs", "VpcId", vpc_id)
    vswitches = vpc_call(client, "DescribeVSwitches", RegionId=region, VpcId=vpc_id, ZoneId=zone_id)["VSwitches"]["VSwitch"]
    if vswitches:
        vswitch_id = vswitches[0]["VSwitchId"]
    else:
        taken = vpc_call(client, "DescribeVSwitches", RegionId=region, VpcId=vpc_id, PageSize=50)["TotalCount"]
        vswitch_id = vpc_call(client, "CreateVSwitch", RegionId=region, VpcId=vpc_id, ZoneId=zone_id,
                              CidrBlock=f"10.{taken + 1}.0.0/16")["VSwitchId"]
        wait_until_available(client, region, "DescribeVSwitches", "VSwitches", "VSwitchId", vswitch_id)
    groups = ecs_call(client, "DescribeSecurityGroups", RegionId=region, VpcId=vpc_id)["SecurityGroups"]["SecurityGroup"]
    group_id = groups[0]["SecurityGroupId"] if groups else ecs_call(
        client, "CreateSecurityGroup", RegionId=region, VpcId=vpc_id, SecurityGroupName="emulator-tests")["SecurityGroupId"]
    return vswitch_id, group_id



"""The client layer (apps.hybrid.cloud) on the wire: ECS and VPC calls by the cloud's names, paging,
OSS through oss2 at ALIBABA_CLOUD_ENDPOINT, and the cloud's refusals as the portal's errors."""
import importlib.util

import pytest

from apps.hybrid.cloud import AlibabaError, Cloud
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.network import instance_network

pytestmark = pytest.mark.django_db   # hybrid/throttle.retries is a global config
oss_emulated = pytest.mark.skipif(importlib.util.find_spec("alibaba_emulator.oss") is None,
                                  reason="this build of the emulator has no OSS")


def test_ecs_calls_by_the_clouds_names_and_pages_with_next_token(cloud):
    client = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
    zones = client.ecs("DescribeZones", {})["Zones"]["Zone"]   # RegionId added
    assert {z["ZoneId"] for z in zones} >= {"cn-hangzhou-h", "cn-hangzhou-i"}
    client.ecs("RunInstances", {"ZoneId": "cn-hangzhou-h", "InstanceType": "ecs.g7.large", "Amount": 5,
                                "ImageId": "aliyun_3_x64_20G_alibase_20240819.vhd",
                                **network_params()})
    seen = list(client.ecs_pages("DescribeInstances", {}, "Instances.Instance", page_size=2))
    assert len(seen) == 5 and len({i["InstanceId"] for i in seen}) == 5
    assert client.vpc("DescribeVpcs", {})["Vpcs"]["Vpc"]   # the test network's


def network_params():
    network = instance_network()
    return {"VSwitchId": network["v_switch_id"], "SecurityGroupId": network["security_group_id"]}


def test_an_unknown_action_is_a_bug_of_the_caller_not_a_call(cloud):
    with pytest.raises(ValueError):
        Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET).ecs("NoSuchAction", {})


def test_a_missing_parameter_is_the_clouds_400(cloud):
    with pytest.raises(AlibabaError) as raised:
        Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET).ecs("StartInstance", {})
    error = raised.value
    assert error.status == 400 and error.details["cloud_code"].startswith("MissingParameter")
    assert error.details["action"] == "StartInstance" and error.details["request_id"]


@oss_emulated
def test_oss_through_oss2_at_the_endpoint(cloud):
    client = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
    bucket = client.oss_bucket("hybrid-client-test")
    client.oss("PutBucket", lambda: bucket.create_bucket())
    client.oss("PutObject", lambda: bucket.put_object("hello.txt", b"hello"))
    assert client.oss("GetObject", lambda: bucket.get_object("hello.txt").read()) == b"hello"
    names = [b.name for b in client.oss("ListBuckets", lambda: client.oss_service().list_buckets().buckets)]
    assert "hybrid-client-test" in names
    with pytest.raises(AlibabaError) as raised:
        client.oss("GetObject", lambda: bucket.get_object("missing.txt"))
    assert raised.value.status == 404 and raised.value.details["cloud_code"] == "NoSuchKey"
    wrong = Cloud(DEMO_KEY_ID, "cn-hangzhou", "not-the-secret")
    with pytest.raises(AlibabaError) as raised:
        wrong.oss("ListBuckets", lambda: wrong.oss_service().list_buckets())
    assert raised.value.code == "ALIBABA_AUTH_FAILED" and raised.value.details["cloud_code"] == "SignatureDoesNotMatch"

"""Signatures checked for real, as the SDK computes them, in both the ACS3 and the v2 RPC styles."""
import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from .process import DEMO_KEY_ID

STYLES = [None, "v2"]   # None: the SDK's default ACS3-HMAC-SHA256


@pytest.mark.parametrize("signature_algorithm", STYLES)
def test_good_signature_is_answered(make_ecs_client, signature_algorithm):
    client = make_ecs_client(signature_algorithm=signature_algorithm)
    answer = client.describe_regions(ecs_models.DescribeRegionsRequest(accept_language="en-US"))
    regions = {r.region_id: r.local_name for r in answer.body.regions.region}
    assert regions["cn-hangzhou"] == "China (Hangzhou)"
    assert {"cn-shanghai", "cn-beijing", "ap-southeast-1", "us-west-1", "eu-central-1"} <= regions.keys()
    assert answer.body.request_id


@pytest.mark.parametrize("signature_algorithm", STYLES)
def test_wrong_secret_is_signature_does_not_match(make_ecs_client, signature_algorithm):
    client = make_ecs_client(access_key_secret="not-the-secret", signature_algorithm=signature_algorithm)
    with pytest.raises(ClientException) as raised:
        client.describe_zones(ecs_models.DescribeZonesRequest(region_id="cn-hangzhou"))
    assert raised.value.code == "SignatureDoesNotMatch"
    assert raised.value.status_code == 400
    assert raised.value.request_id


@pytest.mark.parametrize("signature_algorithm", STYLES)
def test_unknown_key_is_not_found(make_ecs_client, signature_algorithm):
    client = make_ecs_client(access_key_id="LTAI5tNoSuchKey", signature_algorithm=signature_algorithm)
    with pytest.raises(ClientException) as raised:
        client.describe_regions(ecs_models.DescribeRegionsRequest())
    assert raised.value.code == "InvalidAccessKeyId.NotFound"
    assert raised.value.status_code == 404


@pytest.mark.parametrize("signature_algorithm", STYLES)
def test_a_key_added_through_the_admin_api_signs_for_its_own_account(emulator, make_ecs_client, signature_algorithm):
    added = emulator.admin("POST", "keys", {"access_key_id": "LTAI5tSecondKey", "access_key_secret": "second-secret",
                                            "account": "1688000000000002"})
    assert added["account"] == "1688000000000002"
    client = make_ecs_client(access_key_id="LTAI5tSecondKey", access_key_secret="second-secret",
                             signature_algorithm=signature_algorithm)
    zones = client.describe_zones(ecs_models.DescribeZonesRequest(region_id="cn-shanghai")).body.zones.zone
    assert [z.zone_id for z in zones] == ["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"]
    keys = emulator.state()["keys"]
    assert keys["LTAI5tSecondKey"] == {"account": "1688000000000002"}   # never the secret
    assert DEMO_KEY_ID in keys


def test_unknown_region_is_not_found(ecs_client):
    with pytest.raises(ClientException) as raised:
        ecs_client.describe_zones(ecs_models.DescribeZonesRequest(region_id="mars-north-1"))
    assert raised.value.code == "InvalidRegionId.NotFound"

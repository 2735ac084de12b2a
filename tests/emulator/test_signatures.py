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


@pytest.mark.parametrize("signature_algorithm", STYLES)
def test_a_form_body_is_signed_and_read_like_the_query(emulator, signature_algorithm):
    """A few VPC actions send their parameters as a form body: signed (ACS3: its sha256; v2: its
    parameters) and read like query parameters."""
    from alibabacloud_tea_openapi import utils_models
    from alibabacloud_tea_openapi.client import Client as OpenApiClient
    from darabonba.runtime import RuntimeOptions

    from .conftest import sdk_config

    client = OpenApiClient(sdk_config(emulator, signature_algorithm=signature_algorithm))
    params = utils_models.Params(action="DescribeZones", version="2014-05-26", protocol="HTTP", pathname="/",
                                 method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                 body_type="json")
    request = utils_models.OpenApiRequest(body={"RegionId": "cn-shanghai", "AcceptLanguage": "en-US"})
    answer = client.call_api(params, request, RuntimeOptions())
    assert [z["ZoneId"] for z in answer["body"]["Zones"]["Zone"]] == ["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"]


def test_the_real_endpoint_through_the_emulator_as_http_proxy(emulator):
    """Keeping the real endpoint and sending through the emulator as a proxy: the Host header is
    the real one and the signature still checks."""
    from alibabacloud_ecs20140526.client import Client as EcsClient
    from alibabacloud_tea_openapi import models as open_api_models

    from .process import DEMO_KEY_SECRET

    client = EcsClient(open_api_models.Config(access_key_id=DEMO_KEY_ID, access_key_secret=DEMO_KEY_SECRET,
                                              endpoint="ecs.cn-hangzhou.aliyuncs.com", protocol="http",
                                              http_proxy=emulator.url))
    assert len(client.describe_regions(ecs_models.DescribeRegionsRequest()).body.regions.region) == 6


def test_a_deleted_key_is_not_found_any_more(emulator, make_ecs_client):
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tShortLived", "access_key_secret": "short-lived"})
    client = make_ecs_client(access_key_id="LTAI5tShortLived", access_key_secret="short-lived")
    assert client.describe_regions(ecs_models.DescribeRegionsRequest()).body.regions.region
    emulator.admin("DELETE", "keys", {"access_key_id": "LTAI5tShortLived"})
    with pytest.raises(ClientException) as raised:
        client.describe_regions(ecs_models.DescribeRegionsRequest())
    assert raised.value.code == "InvalidAccessKeyId.NotFound"

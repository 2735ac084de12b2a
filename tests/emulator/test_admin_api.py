"""The admin API: injected faults and throttling reach the SDK as the real service's errors would."""
import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException

from .conftest import sdk_config


def _zones(client):
    return client.describe_zones(ecs_models.DescribeZonesRequest(region_id="cn-hangzhou"))


@pytest.mark.parametrize("signature_algorithm", [None, "v2"])
def test_throttling_raises_the_sdks_throttling_exception_with_retry_after(emulator, make_ecs_client,
                                                                         signature_algorithm):
    client = make_ecs_client(signature_algorithm=signature_algorithm)
    emulator.admin("POST", "throttle", {"product": "Ecs", "action": "*", "times": 2, "retry_after": 1.5})
    for _ in range(2):
        with pytest.raises(ThrottlingException) as raised:
            _zones(client)
        assert raised.value.code == "Throttling.User"
        assert raised.value.retry_after == 1500
    assert _zones(client).body.zones.zone   # the burst is over


def test_throttling_one_action_leaves_the_others_alone(emulator, ecs_client):
    emulator.admin("POST", "throttle", {"product": "Ecs", "action": "DescribeRegions", "times": 1})
    assert _zones(ecs_client).body.zones.zone
    with pytest.raises(ThrottlingException):
        ecs_client.describe_regions(ecs_models.DescribeRegionsRequest())


def test_injected_faults_fail_the_next_calls_with_the_given_error(emulator, ecs_client):
    emulator.admin("POST", "faults", {"product": "Ecs", "action": "DescribeZones", "code": "ServiceUnavailable",
                                      "message": "The request has failed due to a temporary failure.",
                                      "http_status": 503, "times": 1})
    emulator.admin("POST", "faults", {"product": "Ecs", "action": "DescribeZones", "code": "Forbidden.RAM",
                                      "http_status": 403, "times": 1})
    with pytest.raises(ServerException) as server_side:
        _zones(ecs_client)
    assert (server_side.value.code, server_side.value.status_code) == ("ServiceUnavailable", 503)
    with pytest.raises(ClientException) as client_side:
        _zones(ecs_client)
    assert client_side.value.code == "Forbidden.RAM"
    assert _zones(ecs_client).body.zones.zone


def test_keys_and_settings_survive_a_restart(own_emulator):
    from alibabacloud_ecs20140526.client import Client as EcsClient

    own_emulator.admin("POST", "keys", {"access_key_id": "LTAI5tKept", "access_key_secret": "kept-secret"})
    own_emulator.admin("POST", "quotas", {"region": "cn-hangzhou", "max_instances": 7})
    own_emulator.restart()
    client = EcsClient(sdk_config(own_emulator, access_key_id="LTAI5tKept", access_key_secret="kept-secret"))
    assert _zones(client).body.zones.zone
    state = own_emulator.state()
    assert state["timing"]["transition_seconds"] == 0.2
    assert any(q.get("cn-hangzhou", {}).get("max_instances") == 7 for q in state["quotas"].values())


def test_admin_api_answers_clear_errors(emulator):
    with pytest.raises(AssertionError, match="400"):
        emulator.admin("POST", "faults", {"product": "Ecs"})
    with pytest.raises(AssertionError, match="404"):
        emulator.admin("POST", "nothing-here", {})
    assert emulator.admin("GET", "health") == {"ok": True}

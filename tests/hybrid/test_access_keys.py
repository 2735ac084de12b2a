"""AccessKeys (H1) through the API against the emulator: checked with the cloud when added, the
secret encrypted at rest and never shown or logged, several per account with one default, each
account seeing its own; the cloud's refusals and throttling as the portal's errors."""
import logging

import pytest
from django.db import connection

from apps.core.testing import client_for, make_account
from apps.hybrid.models import AlibabaAccessKey
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET

pytestmark = pytest.mark.django_db
KEYS = "/api/v1/alibaba-access-keys/"


def test_a_key_is_checked_with_the_cloud_kept_encrypted_and_never_shown(hybrid, caplog):
    with caplog.at_level(logging.DEBUG):
        key = hybrid.add_key()
    assert key["access_key_id"] == DEMO_KEY_ID and key["is_default"] is True
    assert "access_key_secret" not in key
    assert DEMO_KEY_SECRET not in hybrid.client.get(f"{KEYS}{key['uuid']}/").content.decode()
    assert DEMO_KEY_SECRET not in hybrid.client.get(f"{KEYS}?format=csv").content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_key_secret FROM hybrid_alibabaaccesskey")
        [(stored,)] = cursor.fetchall()
    assert stored and DEMO_KEY_SECRET not in stored
    assert AlibabaAccessKey.objects.get(uuid=key["uuid"]).access_key_secret == DEMO_KEY_SECRET
    assert DEMO_KEY_SECRET not in caplog.text
    change = hybrid.client.get("/api/v1/change-logs/", {"q": f"resource_uuid={key['uuid']}"}).json()["results"]
    assert change and all(DEMO_KEY_SECRET not in str(row) for row in change)


@pytest.mark.parametrize("key_id, secret, cloud_code", [
    (DEMO_KEY_ID, "not-the-secret", "SignatureDoesNotMatch"),
    ("LTAI5tNoSuchKey000000000", DEMO_KEY_SECRET, "InvalidAccessKeyId.NotFound"),
])
def test_a_key_the_cloud_refuses_is_not_kept(hybrid, key_id, secret, cloud_code):
    response = hybrid.client.post(KEYS, {"name": "bad", "access_key_id": key_id, "access_key_secret": secret},
                                  format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "ALIBABA_AUTH_FAILED" and cloud_code in body["message"]
    assert body["details"]["cloud_code"] == cloud_code and body["details"]["request_id"]
    assert body["details"]["action"] == "DescribeRegions" and "Traceback" not in response.content.decode()
    assert not AlibabaAccessKey.objects.exists()


def test_several_keys_one_default_and_each_account_sees_its_own(hybrid, cloud):
    cloud.admin("POST", "keys", {"access_key_id": "LTAI5tSecondKey000000000", "access_key_secret": "second-secret",
                                 "account": "1688000000000002"})
    first = hybrid.add_key()
    second = hybrid.add_key("LTAI5tSecondKey000000000", "second-secret", name="second")
    assert (first["is_default"], second["is_default"]) == (True, False)
    duplicate = hybrid.client.post(KEYS, {"name": "again", "access_key_id": DEMO_KEY_ID,
                                          "access_key_secret": DEMO_KEY_SECRET}, format="json")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "ALIBABA_KEY_EXISTS"

    answer = hybrid.client.post(f"{KEYS}{second['uuid']}/set-default/")
    assert answer.status_code == 200 and answer.json()["is_default"] is True
    defaults = hybrid.client.get(KEYS, {"q": "is_default=true"}).json()["results"]
    assert [k["uuid"] for k in defaults] == [second["uuid"]]

    tenant = client_for(make_account("tenant-h1"))
    assert tenant.get(KEYS).json()["count"] == 0
    assert tenant.get(f"{KEYS}{first['uuid']}/").status_code == 404
    assert tenant.post(f"{KEYS}{first['uuid']}/set-default/").status_code == 404
    own = tenant.post(KEYS, {"name": "mine", "access_key_id": DEMO_KEY_ID, "access_key_secret": DEMO_KEY_SECRET},
                      format="json")
    assert own.status_code == 201 and own.json()["is_default"] is True   # its own first key, its own default
    assert [k["uuid"] for k in tenant.get(KEYS).json()["results"]] == [own.json()["uuid"]]


def test_a_key_lists_the_clouds_regions_and_a_regions_zones(hybrid):
    key = hybrid.add_key()
    regions = hybrid.client.get(f"{KEYS}{key['uuid']}/regions/").json()
    by_id = {r["region_id"]: r for r in regions}
    assert {"cn-hangzhou", "cn-shanghai", "ap-southeast-1", "eu-central-1"} <= set(by_id)
    assert by_id["cn-hangzhou"]["local_name"]
    zones = hybrid.client.get(f"{KEYS}{key['uuid']}/zones/", {"region_id": "cn-hangzhou"}).json()
    assert len(zones) >= 2 and all(z["zone_id"].startswith("cn-hangzhou-") for z in zones)
    assert all(z["available_instance_types"] for z in zones)
    odd = hybrid.client.get(f"{KEYS}{key['uuid']}/zones/", {"region_id": "evil.example.com/x"})
    assert odd.status_code == 400 and "region_id" in odd.json()["details"]   # never part of a host name
    missing = hybrid.client.get(f"{KEYS}{key['uuid']}/zones/", {"region_id": "xx-nowhere-1"})
    assert missing.status_code in (400, 404) and missing.json()["details"]["cloud_code"].startswith("InvalidRegionId")


def test_a_throttled_call_is_retried_and_a_lasting_throttle_is_a_clear_error(hybrid, cloud):
    key = hybrid.add_key()
    cloud.admin("POST", "throttle", {"product": "Ecs", "action": "DescribeRegions", "times": 2, "retry_after": 0.1})
    answer = hybrid.client.get(f"{KEYS}{key['uuid']}/regions/")
    assert answer.status_code == 200, answer.content
    cloud.admin("POST", "throttle", {"product": "Ecs", "action": "DescribeRegions", "times": 50, "retry_after": 0.05})
    answer = hybrid.client.get(f"{KEYS}{key['uuid']}/regions/")
    assert answer.status_code == 503, answer.content
    body = answer.json()
    assert body["code"] == "ALIBABA_THROTTLED" and body["details"]["cloud_code"].startswith("Throttling")
    cloud.admin("POST", "reset")


def test_an_unreachable_cloud_is_a_clear_error(hybrid, settings):
    key = hybrid.add_key()
    settings.ALIBABA_CLOUD_ENDPOINT = "http://127.0.0.1:9"   # discard: nothing listens
    answer = hybrid.client.get(f"{KEYS}{key['uuid']}/regions/")
    assert answer.status_code == 503 and answer.json()["code"] == "ALIBABA_UNREACHABLE", answer.content
    assert "127.0.0.1:9" in answer.json()["message"]

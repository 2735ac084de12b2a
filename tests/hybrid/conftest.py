"""The hybrid app against the Alibaba Cloud emulator the project ships, a real process on a free
port, through the real SDKs (tests/emulator's fixtures). Jobs run in-process (tests/conftest.py)."""
import pytest

from tests.emulator.conftest import FAST_TRANSITIONS, emulator, emulator_server  # noqa: F401
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET

ACCOUNT = "1688000000000001"   # the emulator's account of the demo key


@pytest.fixture
def cloud(emulator, settings):  # noqa: F811
    """The portal calls the emulator (ALIBABA_CLOUD_ENDPOINT), emptied, with fast transitions."""
    settings.ALIBABA_CLOUD_ENDPOINT = emulator.url
    return emulator


class Hybrid:
    """API steps of the hybrid tests, with jobs run inline (``capture``: Django's on-commit
    callbacks, which dispatch them)."""

    def __init__(self, client, capture, emulator):
        self.client, self.capture, self.emulator = client, capture, emulator

    def post(self, url, body=None):
        with self.capture(execute=True):
            return self.client.post(url, body or {}, format="json")

    def job(self, response):
        assert response.status_code == 202, response.content
        return self.client.get(response["Location"]).json()

    def add_key(self, key_id=DEMO_KEY_ID, secret=DEMO_KEY_SECRET, **extra):
        response = self.client.post("/api/v1/alibaba-access-keys/", {
            "name": extra.pop("name", "demo"), "access_key_id": key_id, "access_key_secret": secret, **extra},
            format="json")
        assert response.status_code == 201, response.content
        return response.json()

    def add_data_center(self, region="cn-hangzhou", **extra):
        response = self.post("/api/v1/alibaba-data-centers/", {"region_id": region, **extra})
        job = self.job(response)
        assert job["state"] == "succeeded", job
        return response.json()["resource"]

    def zone(self, data_center, zone_id=None):
        zones = self.client.get("/api/v1/alibaba-identity-zones/", {
            "q": f"data_center_uuid={data_center['uuid']}", "ordering": "zone_id"}).json()["results"]
        return next(z for z in zones if zone_id in (None, z["zone_id"]))

    def instances(self, region="cn-hangzhou"):
        """The emulator's instances of the demo account: {InstanceId: record}."""
        return self.emulator.table("instances", region=region)


@pytest.fixture
def hybrid(cloud, admin_client, django_capture_on_commit_callbacks):
    return Hybrid(admin_client, django_capture_on_commit_callbacks, cloud)

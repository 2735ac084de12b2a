"""The generated API tests (apps.core.testing) of the hybrid resources: CRUD where it is local,
the query DSL, fields=, CSV, the error shape, tenancy, 401/403 and audit. Adding a key asks the
emulator (the class's ``cloud`` fixture); the flows and the cloud's side are in the other modules."""
import pytest

from apps.core.testing import APIViewTestCases
from apps.hybrid.models import AlibabaAccessKey, AlibabaDataCenter, AlibabaIdentityZone, EcsInstance
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET


@pytest.fixture
def point_at_emulator(request, emulator, settings):  # noqa: F811 - the emulator fixture of conftest.py
    settings.ALIBABA_CLOUD_ENDPOINT = emulator.url


def key_of(owner, index=0):
    return AlibabaAccessKey.objects.create(name=f"key-{index}", account=owner.account,
                                           access_key_id=f"LTAI5tKey{index:016d}", access_key_secret=f"secret-{index}")


def data_center_of(owner, index=0):
    key = key_of(owner, 100 + index)
    return AlibabaDataCenter.objects.create(name=f"dc-{index}", account=owner.account, access_key=key,
                                            region_id=f"cn-region-{index}", time_zone="Asia/Shanghai")


@pytest.mark.usefixtures("point_at_emulator")
class AccessKeyAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/alibaba-access-keys/"
    model = AlibabaAccessKey
    tenant_scoped = True
    create_data = [{"name": "demo", "access_key_id": DEMO_KEY_ID, "access_key_secret": DEMO_KEY_SECRET}]
    update_data = {"description": "changed", "name": "renamed"}

    def make_object(self, index, owner):
        return key_of(owner, index)

    def test_the_secret_is_never_shown(self):
        row = self.tenant_client.get(self.detail(self.objects[0])).json()
        assert "access_key_secret" not in row and "secret-0" not in str(row)
        assert self.tenant_client.get(self.url, {"q": "access_key_secret=secret-0"}).status_code == 400


class DataCenterAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects, APIViewTestCases.UpdateObject,
                        APIViewTestCases.DeleteObject):
    """Adding one syncs it (a flow): tests/hybrid/test_data_centers.py."""

    url = "/api/v1/alibaba-data-centers/"
    model = AlibabaDataCenter
    tenant_scoped = True
    update_data = {"description": "changed", "time_zone": "Europe/Berlin"}

    def make_object(self, index, owner):
        return data_center_of(owner, index)


class IdentityZoneAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects):
    url = "/api/v1/alibaba-identity-zones/"
    model = AlibabaIdentityZone
    tenant_scoped = True

    def make_object(self, index, owner):
        center = data_center_of(owner, index)
        return AlibabaIdentityZone.objects.create(name=f"zone-{index}", account=owner.account, data_center=center,
                                                  zone_id=f"cn-region-{index}-a")


class EcsInstanceAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects, APIViewTestCases.UpdateObject):
    """Create and the actions run flows against the cloud: tests/hybrid/test_ecs_instances.py."""

    url = "/api/v1/ecs-instances/"
    model = EcsInstance
    tenant_scoped = True
    update_data = {"description": "changed"}

    def make_object(self, index, owner):
        center = data_center_of(owner, index)
        return EcsInstance.objects.create(name=f"ecs-{index}", account=owner.account, data_center=center,
                                          instance_id=f"i-{index:020d}", state="Running",
                                          instance_type="ecs.g7.large", cpu_num=2, memory_size=8 << 30)

    def test_the_name_is_the_clouds_and_changes_by_the_rename_action(self):
        response = self.tenant_client.patch(self.detail(self.objects[0]), {"name": "other"}, format="json")
        assert response.status_code == 200 and response.json()["name"] == "ecs-0"


@pytest.mark.django_db
def test_an_account_with_data_centres_is_not_deleted_and_its_keys_go_with_it(admin_client,
                                                                            django_capture_on_commit_callbacks):
    from apps.core.testing import make_account

    owner = make_account("hybrid-owner")
    center = data_center_of(owner)
    url = f"/api/v1/accounts/{owner.account.uuid}/"
    with django_capture_on_commit_callbacks(execute=True):
        refused = admin_client.delete(url)
    assert refused.status_code == 409 and str(center.uuid) in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.delete(f"/api/v1/alibaba-data-centers/{center.uuid}/").status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin_client.delete(url)
    assert deleted.status_code == 202, deleted.content
    assert admin_client.get(deleted["Location"]).json()["state"] == "succeeded"
    assert not AlibabaAccessKey.objects.exists() and not AlibabaDataCenter.objects.exists()

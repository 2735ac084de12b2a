"""Instance offerings (V2): generated API tests plus validation."""
import pytest

from apps.compute.models import InstanceOffering
from apps.core.testing import APIViewTestCases

GIB = 1024 ** 3


class InstanceOfferingAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/instance-offerings/"
    model = InstanceOffering
    create_data = [{"name": "small", "cpu_num": 1, "memory_size": GIB},
                   {"name": "large", "cpu_num": 8, "memory_size": 16 * GIB,
                    "allocator_strategy": "LeastVmPreferredHostAllocatorStrategy"}]
    update_data = {"description": "changed", "sort_key": 3}

    def make_object(self, index, owner):
        return InstanceOffering.objects.create(name=f"offering-{index}", cpu_num=index + 1, memory_size=GIB)


pytestmark = pytest.mark.django_db


def test_offering_input_is_validated(admin_client, tenant_client):
    url = "/api/v1/instance-offerings/"
    response = admin_client.post(url, {"name": "bad", "cpu_num": 0, "memory_size": 1024}, format="json")
    assert response.status_code == 400 and set(response.json()["details"]) == {"cpu_num", "memory_size"}
    response = admin_client.post(url, {"name": "bad", "cpu_num": 1, "memory_size": GIB,
                                       "allocator_strategy": "Nope"}, format="json")
    assert response.status_code == 400 and "allocator_strategy" in response.json()["details"]
    assert tenant_client.post(url, {"name": "t", "cpu_num": 1, "memory_size": GIB}, format="json").status_code == 403
    created = admin_client.post(url, {"name": "ok", "cpu_num": 2, "memory_size": 2 * GIB}, format="json").json()
    assert tenant_client.get(f"{url}?q=cpu_num>=2").json()["results"][0]["uuid"] == created["uuid"]
    assert admin_client.post(f"{url}{created['uuid']}/disable/").json()["state"] == "Disabled"

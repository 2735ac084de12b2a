"""Zones, clusters and hosts in the console: made through the forms the API validates, a KVM host
refused with the API's message beside its field, hosts related on the cluster's page."""

import pytest

from apps.core.testing import client_for, make_account
from apps.infra.models import Cluster, Zone
from tests.ui.pages import browser, field_errors

pytestmark = pytest.mark.django_db


def test_a_zone_and_a_cluster_are_made_through_the_forms_and_the_cluster_lists_on_the_zone():
    admin = make_account("infra-admin", admin=True)
    client = browser(admin)
    response = client.post("/ui/zones/new/", {"name": "zone-1", "description": ""})
    zone = Zone.objects.get(name="zone-1")
    assert response.status_code == 302 and response.headers["Location"] == f"/ui/zones/{zone.uuid}/"
    response = client.post("/ui/clusters/new/", {"name": "cluster-1", "zone_uuid": str(zone.uuid),
                                                 "hypervisor_type": "KVM", "description": ""})
    cluster = Cluster.objects.get(name="cluster-1")
    assert response.status_code == 302 and cluster.zone_id == zone.pk
    assert "cluster-1" in client.get(f"/ui/zones/{zone.uuid}/").content.decode()
    assert [group for group in ("Zones", "Clusters", "Hosts") if group in client.get("/ui/").content.decode()] \
        == ["Zones", "Clusters", "Hosts"]


def test_a_kvm_host_without_an_address_gets_the_apis_message_beside_the_field():
    admin = make_account("infra-admin", admin=True)
    zone = Zone.objects.create(name="z")
    cluster = Cluster.objects.create(name="c", zone=zone, hypervisor_type="KVM")
    data = {"name": "kvm-1", "cluster_uuid": str(cluster.uuid), "hypervisor_type": "KVM", "password": "secret"}
    api = client_for(admin).post("/api/v1/hosts/", data, format="json")
    assert api.status_code == 400
    page = browser(admin).post("/ui/hosts/new/", {**data, "description": ""})
    assert page.status_code == 400   # the form again, with the API's answer
    assert field_errors(page, "management_ip") == api.json()["details"]["management_ip"]

"""L2 and L3 networks in the console: a cluster picked by name for an L2's attach (the API takes
its bare uuid), an IP range added from the L3's page through the API's own call, its refusal
shown as the API words it, and neither offered to a normal account."""
import re

import pytest

from apps.core.testing import client_for, make_account
from apps.infra.models import Cluster, Zone
from apps.network.models import IpRange
from tests.network.conftest import create_l2, create_l3
from tests.ui.test_infra_pages import browser, field_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return make_account("net-admin", admin=True)


def test_an_l2_s_attach_form_offers_the_clusters_by_name(admin):
    zone = Zone.objects.create(name="z")
    clusters = [Cluster.objects.create(name=name, zone=zone, hypervisor_type="Simulator") for name in ("c-1", "c-2")]
    l2 = create_l2(client_for(admin), zone)
    html = browser(admin).get(f"/ui/l2-networks/{l2['uuid']}/attach/").content.decode()
    select = re.search(r'<select[^>]*id="f-cluster_uuid".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)<', select) == [
        (str(c.uuid), c.name) for c in clusters]


def test_an_ip_range_is_added_from_the_l3_s_page_and_refused_as_the_api_refuses_it(admin):
    l3 = create_l3(client_for(admin), create_l2(client_for(admin), Zone.objects.create(name="z"))["uuid"])
    client = browser(admin)
    page = client.get(f"/ui/l3-networks/{l3['uuid']}/").content.decode()
    assert f'href="/ui/l3-networks/{l3["uuid"]}/ip-ranges/"' in page
    form = client.get(f"/ui/l3-networks/{l3['uuid']}/ip-ranges/").content.decode()
    assert all(f'id="f-{name}"' in form for name in ("start_ip", "end_ip", "netmask", "gateway"))
    body = {"start_ip": "10.9.0.10", "end_ip": "10.9.0.20", "netmask": "255.255.255.0", "gateway": "10.9.0.1"}
    response = client.post(f"/ui/l3-networks/{l3['uuid']}/ip-ranges/", body)
    assert response.status_code == 302 and response.headers["Location"] == f"/ui/l3-networks/{l3['uuid']}/"
    assert IpRange.objects.get(l3_network__uuid=l3["uuid"]).start_ip == "10.9.0.10"
    ranges = client.get(response.headers["Location"]).content.decode()
    ranges = ranges[ranges.index('id="ip-ranges"'):]
    assert "10.9.0.10" in ranges and "10.9.0.20" in ranges   # the L3's page lists its ranges

    bad = {**body, "start_ip": "10.9.0.300"}
    api = client_for(admin).post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", bad, format="json")
    page = client.post(f"/ui/l3-networks/{l3['uuid']}/ip-ranges/", bad)
    assert page.status_code == 400 and field_errors(page, "start_ip") == api.json()["details"]["start_ip"]
    assert IpRange.objects.count() == 1


def test_a_normal_account_is_offered_neither(admin):
    zone = Zone.objects.create(name="z")
    l3 = create_l3(client_for(admin), create_l2(client_for(admin), zone)["uuid"])
    client = browser(make_account("net-tenant"))
    page = client.get(f"/ui/l3-networks/{l3['uuid']}/").content.decode()
    assert f"/ui/l3-networks/{l3['uuid']}/ip-ranges/" not in page and "Add an IP range" not in page
    assert client.get(f"/ui/l3-networks/{l3['uuid']}/ip-ranges/").status_code in (403, 404)

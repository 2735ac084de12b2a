"""The network's console pages (H4, H7) through Django's client, and tenancy: each account sees,
picks and acts on its own VPCs, vSwitches, groups and EIPs only."""
import pytest

from apps.core.testing import client_for, make_account
from tests.hybrid.network_api import EIPS, GROUPS, ROUTES, V_ROUTERS, V_SWITCHES, VPCS, data_center, security_group, \
    v_switch, vpc
from tests.ui.pages import browser, field_errors, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(hybrid):
    center = data_center(hybrid)
    made_vpc = vpc(hybrid, center)
    switch = v_switch(hybrid, made_vpc, hybrid.zone(center))
    group = security_group(hybrid, made_vpc)
    return {"center": center, "vpc": made_vpc, "v_switch": switch, "group": group}


def test_every_network_page_lists_shows_and_offers_its_actions(hybrid, network, admin_user):
    page = browser(admin_user)
    for basename, row, shown in (("alibaba-vpcs", network["vpc"], network["vpc"]["vpc_id"]),
                                 ("alibaba-v-switches", network["v_switch"], network["v_switch"]["v_switch_id"]),
                                 ("alibaba-security-groups", network["group"], network["group"]["security_group_id"])):
        listing = page.get(f"/ui/{basename}/")
        assert listing.status_code == 200 and shown in text(listing), basename
        detail = page.get(f"/ui/{basename}/{row['uuid']}/")
        assert detail.status_code == 200 and shown in text(detail)
        assert f"/ui/{basename}/{row['uuid']}/delete-here/" in text(detail)
        assert page.get(f"/ui/{basename}/new/").status_code == 200
    router = hybrid.client.get(V_ROUTERS).json()["results"][0]
    assert router["v_router_id"] in text(page.get(f"/ui/alibaba-v-routers/{router['uuid']}/"))
    assert page.get("/ui/alibaba-route-entries/").status_code == 200
    assert page.get("/ui/alibaba-eips/new/").status_code == 200
    group_page = text(page.get(f"/ui/alibaba-security-groups/{network['group']['uuid']}/"))
    assert "security-group-rules" in group_page and "add-rule" in group_page
    center_page = text(page.get(f"/ui/alibaba-data-centers/{network['center']['uuid']}/"))
    assert "data-center-network" in center_page
    assert f"/ui/alibaba-v-switches/?q=data_center_uuid%3D{network['center']['uuid']}" in center_page


def test_a_rule_is_added_from_its_form_and_a_bad_port_range_is_named(hybrid, network, admin_user):
    page = browser(admin_user)
    url = f"/ui/alibaba-security-groups/{network['group']['uuid']}/add-rule/"
    assert page.get(url).status_code == 200
    refused = page.post(url, {"direction": "ingress", "ip_protocol": "TCP", "port_range": "80", "cidr_ip": "0.0.0.0/0",
                              "policy": "accept", "priority": "1", "nic_type": "intranet"})
    assert refused.status_code == 400 and field_errors(refused, "port_range")
    with hybrid.capture(execute=True):
        page.post(url, {"direction": "ingress", "ip_protocol": "TCP", "port_range": "80/80", "cidr_ip": "0.0.0.0/0",
                        "policy": "accept", "priority": "1", "nic_type": "intranet"})
    [rule] = hybrid.emulator.table("security_groups")[network["group"]["security_group_id"]]["Permissions"][
        "Permission"]
    assert rule["PortRange"] == "80/80"


def test_each_account_sees_and_acts_on_its_own_network_only(hybrid, network):
    tenant = client_for(make_account("tenant-net"))
    for url in (VPCS, V_SWITCHES, V_ROUTERS, ROUTES, GROUPS, EIPS):
        assert tenant.get(url).json()["count"] == 0, url
    assert tenant.get(f"{VPCS}{network['vpc']['uuid']}/").status_code == 404
    assert tenant.delete(f"{VPCS}{network['vpc']['uuid']}/").status_code == 404
    assert tenant.post(f"{GROUPS}{network['group']['uuid']}/add-rule/", {"ip_protocol": "ALL"},
                       format="json").status_code == 404
    assert tenant.delete(f"{V_SWITCHES}{network['v_switch']['uuid']}/").status_code == 404
    # another account's VPC or data centre is not one to build on
    answer = tenant.post(V_SWITCHES, {"name": "x", "vpc_uuid": network["vpc"]["uuid"], "cidr_block": "10.0.7.0/24",
                                      "identity_zone_uuid": hybrid.zone(network["center"])["uuid"]}, format="json")
    assert answer.status_code == 400 and "vpc_uuid" in answer.json()["details"]
    answer = tenant.post(EIPS, {"data_center_uuid": network["center"]["uuid"]}, format="json")
    assert answer.status_code == 400 and "data_center_uuid" in answer.json()["details"]
    assert len(hybrid.emulator.table("vswitches")) == 1 and hybrid.emulator.table("eips") == {}


def test_what_a_request_sends_cannot_point_its_job_at_another_row(hybrid, network):
    other = security_group(hybrid, network["vpc"], name="kept")
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{GROUPS}{network['group']['uuid']}/", {"row_uuid": other["uuid"]},
                                      format="json")
    assert hybrid.job(answer)["state"] == "succeeded"
    assert list(hybrid.emulator.table("security_groups")) == [other["security_group_id"]]
    assert hybrid.client.get(f"{GROUPS}{other['uuid']}/").json()["state"] == "Available"

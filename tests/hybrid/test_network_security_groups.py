"""Security groups and their rules (H4) through the portal's API against the emulator: create in a
VPC, view with rules, add and remove rules, delete in the cloud (refused while an instance is in
the group) or here only, sync; an ECS instance made on the portal's vSwitch and group shows them."""
import pytest

from apps.hybrid.models import AlibabaSecurityGroup
from tests.hybrid.network_api import GROUPS, act, data_center, delete, security_group, v_switch, vpc
from tests.ui.pages import browser, text

pytestmark = pytest.mark.django_db
ECS = "/api/v1/ecs-instances/"
SSH = {"direction": "ingress", "ip_protocol": "TCP", "port_range": "22/22", "cidr_ip": "10.0.0.0/8",
       "description": "ssh from the office"}


@pytest.fixture
def network(hybrid):
    center = data_center(hybrid)
    made_vpc = vpc(hybrid, center)
    return {"center": center, "vpc": made_vpc}


def group_record(hybrid, group):
    return hybrid.emulator.table("security_groups")[group["security_group_id"]]


def test_a_group_is_made_in_its_vpc_and_shown_with_its_rules(hybrid, network):
    group = security_group(hybrid, network["vpc"])
    assert group["state"] == "Available" and group["vpc_uuid"] == network["vpc"]["uuid"]
    record = group_record(hybrid, group)
    assert record["VpcId"] == network["vpc"]["vpc_id"] and record["SecurityGroupName"] == "web-sg"
    assert {"TagKey": "cloudportal:uuid", "TagValue": group["uuid"]} in record["Tags"]["Tag"]

    assert act(hybrid, GROUPS, group, "add-rule", SSH)["state"] == "succeeded"
    [rule] = hybrid.client.get(f"{GROUPS}{group['uuid']}/").json()["rules"]
    assert (rule["direction"], rule["ip_protocol"], rule["port_range"], rule["source_cidr_ip"], rule["policy"]) == (
        "ingress", "TCP", "22/22", "10.0.0.0/8", "Accept")
    [kept] = group_record(hybrid, group)["Permissions"]["Permission"]
    assert kept["SecurityGroupRuleId"] == rule["rule_id"] and kept["Description"] == "ssh from the office"

    assert act(hybrid, GROUPS, group, "add-rule", SSH)["state"] == "succeeded"   # the same rule: kept once
    egress = {"direction": "egress", "ip_protocol": "ALL", "cidr_ip": "0.0.0.0/0", "policy": "drop", "priority": 100}
    assert act(hybrid, GROUPS, group, "add-rule", egress)["state"] == "succeeded"
    assert len(group_record(hybrid, group)["Permissions"]["Permission"]) == 2
    bad = hybrid.client.post(f"{GROUPS}{group['uuid']}/add-rule/", {**SSH, "port_range": "22"}, format="json")
    assert bad.status_code == 400 and "port_range" in bad.json()["details"]

    assert act(hybrid, GROUPS, group, "remove-rule", {"rule_id": rule["rule_id"]})["state"] == "succeeded"
    [left] = group_record(hybrid, group)["Permissions"]["Permission"]
    assert left["Direction"] == "egress" and left["Policy"] == "Drop"
    assert [r["direction"] for r in hybrid.client.get(f"{GROUPS}{group['uuid']}/").json()["rules"]] == ["egress"]
    unknown = hybrid.client.post(f"{GROUPS}{group['uuid']}/remove-rule/", {"rule_id": "sgr-none"}, format="json")
    assert unknown.status_code == 400


def test_a_rule_added_is_revoked_when_a_later_step_fails(hybrid, network, monkeypatch):
    from apps.hybrid.flows import network_security_groups as flows

    group = security_group(hybrid, network["vpc"])
    original = flows.ReadRules.run

    def run(step, ctx):
        hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "DescribeSecurityGroupAttribute",
                                                 "code": "InternalError", "http_status": 500, "times": 1})
        return original(step, ctx)

    monkeypatch.setattr(flows.ReadRules, "run", run)
    job = act(hybrid, GROUPS, group, "add-rule", SSH)
    assert job["state"] == "failed" and job["error"]["step"] == "ReadRules", job
    assert group_record(hybrid, group)["Permissions"]["Permission"] == []


def test_an_instance_made_on_the_portals_v_switch_and_group_blocks_the_groups_delete(hybrid, network, admin_user):
    group = security_group(hybrid, network["vpc"])
    zone = hybrid.zone(network["center"], "cn-hangzhou-h")
    switch = v_switch(hybrid, network["vpc"], zone)
    response = hybrid.post(ECS, {"name": "web", "identity_zone_uuid": zone["uuid"], "instance_type": "ecs.g7.large",
                                 "image_id": "aliyun_3_x64_20G_alibase_20240819.vhd",
                                 "v_switch_id": switch["v_switch_id"], "security_group_id": group["security_group_id"]})
    assert hybrid.job(response)["state"] == "succeeded"
    instance = hybrid.client.get(f"{ECS}{response.json()['resource']['uuid']}/").json()
    assert instance["security_group_ids"] == [group["security_group_id"]]
    assert instance["v_switch_id"] == switch["v_switch_id"] and instance["vpc_id"] == network["vpc"]["vpc_id"]
    # the instance's page shows its group and vSwitch by name
    page = text(browser(admin_user).get(f"/ui/ecs-instances/{instance['uuid']}/"))
    assert "web-sg" in page and switch["v_switch_id"] in page

    refused = hybrid.client.delete(f"{GROUPS}{group['uuid']}/")
    assert refused.status_code == 409 and refused.json()["code"] == "ALIBABA_SECURITY_GROUP_IN_USE"
    assert refused.json()["details"]["instance_ids"] == [instance["instance_id"]]

    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{ECS}{instance['uuid']}/")
    assert hybrid.job(answer)["state"] == "succeeded"
    assert delete(hybrid, GROUPS, group)["state"] == "succeeded"
    assert hybrid.emulator.table("security_groups") == {} and not AlibabaSecurityGroup.objects.exists()


def test_a_group_deleted_here_only_comes_back_with_its_rules_on_the_next_sync(hybrid, network):
    group = security_group(hybrid, network["vpc"])
    act(hybrid, GROUPS, group, "add-rule", SSH)
    assert act(hybrid, GROUPS, group, "delete-here")["state"] == "succeeded"
    assert not AlibabaSecurityGroup.objects.exists()
    assert group["security_group_id"] in hybrid.emulator.table("security_groups")
    job = hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{network['center']['uuid']}/sync/"))
    assert job["state"] == "succeeded"
    back = AlibabaSecurityGroup.objects.get()
    assert back.security_group_id == group["security_group_id"] and back.parent_vpc.vpc_id == network["vpc"]["vpc_id"]
    assert [r["port_range"] for r in back.rules] == ["22/22"]


def test_the_ecs_create_picks_a_synced_v_switch_and_group_that_fit_its_zone(hybrid, network, admin_user):
    group = security_group(hybrid, network["vpc"])
    zone_h, zone_i = hybrid.zone(network["center"], "cn-hangzhou-h"), hybrid.zone(network["center"], "cn-hangzhou-i")
    switch = v_switch(hybrid, network["vpc"], zone_h)
    body = {"name": "web", "identity_zone_uuid": zone_i["uuid"], "instance_type": "ecs.g7.large",
            "image_id": "aliyun_3_x64_20G_alibase_20240819.vhd", "v_switch_uuid": switch["uuid"],
            "security_group_uuid": group["uuid"]}
    wrong_zone = hybrid.client.post(ECS, body, format="json")
    assert wrong_zone.status_code == 400 and "v_switch_uuid" in wrong_zone.json()["details"]
    other = security_group(hybrid, vpc(hybrid, network["center"], name="other", cidr="192.168.0.0/16"), name="other")
    wrong_vpc = hybrid.client.post(ECS, {**body, "identity_zone_uuid": zone_h["uuid"],
                                         "security_group_uuid": other["uuid"]}, format="json")
    assert wrong_vpc.status_code == 400 and "security_group_uuid" in wrong_vpc.json()["details"]
    assert hybrid.instances() == {}

    form = text(browser(admin_user).get("/ui/ecs-instances/new/"))
    assert switch["uuid"] in form and group["uuid"] in form   # offered by name
    response = hybrid.post(ECS, {**body, "identity_zone_uuid": zone_h["uuid"]})
    assert hybrid.job(response)["state"] == "succeeded"
    [record] = hybrid.instances().values()
    assert record["VpcAttributes"]["VSwitchId"] == switch["v_switch_id"]
    assert record["SecurityGroupIds"]["SecurityGroupId"] == [group["security_group_id"]]

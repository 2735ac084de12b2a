"""ECS security groups and their rules through the real ECS SDK: create, describe (both paging
styles), rules in and out (Permissions.N and the older top-level fields), revoke by fields and by
rule id, modify, delete refused while in use; per-account/region scoping and a restart."""
import json

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from .conftest import sdk_config
from .ecs_helpers import run, wait_for

REGION = "cn-hangzhou"


def _error(call):
    with pytest.raises(ClientException) as raised:
        call()
    return raised.value


def _create(client, name="web", region=REGION, **fields):
    return client.create_security_group(ecs_models.CreateSecurityGroupRequest(
        region_id=region, security_group_name=name, **fields)).body.security_group_id


def _rules(client, group_id, **fields):
    answer = client.describe_security_group_attribute(ecs_models.DescribeSecurityGroupAttributeRequest(
        region_id=REGION, security_group_id=group_id, **fields)).body
    return answer.permissions.permission


def _ingress(**fields):
    return ecs_models.AuthorizeSecurityGroupRequestPermissions(**fields)


def _authorize(client, group_id, *permissions):
    client.authorize_security_group(ecs_models.AuthorizeSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id, permissions=list(permissions)))


def test_create_describe_and_modify(emulator, ecs_client):
    group_id = _create(ecs_client, description="web servers", tag=[
        ecs_models.CreateSecurityGroupRequestTag(key="team", value="a")])
    assert group_id.startswith("sg-")
    (group,) = ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
        region_id=REGION)).body.security_groups.security_group
    assert (group.security_group_id, group.security_group_name, group.description, group.security_group_type) == (
        group_id, "web", "web servers", "normal")
    assert (group.ecs_count, group.rule_count, group.available_instance_amount) == (0, 0, 2000)
    assert [(t.tag_key, t.tag_value) for t in group.tags.tag] == [("team", "a")]
    ecs_client.modify_security_group_attribute(ecs_models.ModifySecurityGroupAttributeRequest(
        region_id=REGION, security_group_id=group_id, security_group_name="front", description="front ends"))
    stored = emulator.table("security_groups")[group_id]
    assert (stored["SecurityGroupName"], stored["Description"]) == ("front", "front ends")
    attribute = ecs_client.describe_security_group_attribute(ecs_models.DescribeSecurityGroupAttributeRequest(
        region_id=REGION, security_group_id=group_id)).body
    assert (attribute.security_group_name, attribute.inner_access_policy) == ("front", "Accept")


def test_create_checks_vpc_name_and_quota(emulator, ecs_client):
    error = _error(lambda: _create(ecs_client, vpc_id="vpc-doesnotexist000000000"))
    assert (error.code, error.status_code) == ("InvalidVpcId.NotFound", 404)
    assert _error(lambda: _create(ecs_client, name="1abc")).code == "InvalidSecurityGroupName.Malformed"
    assert _error(lambda: _create(ecs_client, security_group_type="odd")).code == "InvalidSecurityGroupType.Malformed"
    emulator.admin("POST", "quotas", {"region": REGION, "max_security_groups": 1})
    _create(ecs_client)
    error = _error(lambda: _create(ecs_client, name="second"))
    assert (error.code, error.status_code) == ("QuotaExceed.SecurityGroup", 403)
    assert _create(ecs_client, region="cn-shanghai")     # quotas are per region


def test_groups_are_per_account_and_region(emulator, ecs_client, make_ecs_client):
    group_id = _create(ecs_client)
    assert ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
        region_id="cn-beijing")).body.total_count == 0
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccount", "access_key_secret": "other-secret",
                                    "account": "1688000000000002"})
    other = make_ecs_client(access_key_id="LTAI5tOtherAccount", access_key_secret="other-secret")
    error = _error(lambda: _rules(other, group_id))
    assert (error.code, error.status_code) == ("InvalidSecurityGroupId.NotFound", 404)


def test_authorize_ingress_and_egress_rules(emulator, ecs_client):
    group_id = _create(ecs_client)
    peer_id = _create(ecs_client, name="db")
    _authorize(ecs_client, group_id,
               _ingress(ip_protocol="tcp", port_range="22/22", source_cidr_ip="10.0.0.0/8", description="ssh"),
               _ingress(ip_protocol="ALL", source_group_id=peer_id, policy="drop", priority="5"))
    # the older way: one rule in top-level fields; the same SSH rule again is kept once
    ecs_client.authorize_security_group(ecs_models.AuthorizeSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id, ip_protocol="TCP", port_range="22/22", source_cidr_ip="10.0.0.0/8"))
    ecs_client.authorize_security_group_egress(ecs_models.AuthorizeSecurityGroupEgressRequest(
        region_id=REGION, security_group_id=group_id, permissions=[
            ecs_models.AuthorizeSecurityGroupEgressRequestPermissions(ip_protocol="udp", port_range="53/53",
                                                                      dest_cidr_ip="0.0.0.0/0")]))
    rules = _rules(ecs_client, group_id)
    assert [(r.direction, r.ip_protocol, r.port_range, r.policy, r.priority) for r in rules] == [
        ("ingress", "TCP", "22/22", "Accept", "1"), ("ingress", "ALL", "-1/-1", "Drop", "5"),
        ("egress", "UDP", "53/53", "Accept", "1")]
    assert rules[0].source_cidr_ip == "10.0.0.0/8" and rules[0].description == "ssh"
    assert (rules[1].source_group_id, rules[1].source_group_name) == (peer_id, "db")
    assert all(r.security_group_rule_id.startswith("sgr-") for r in rules)
    assert [r.direction for r in _rules(ecs_client, group_id, direction="egress")] == ["egress"]
    (listed,) = [g for g in ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
        region_id=REGION)).body.security_groups.security_group if g.security_group_id == group_id]
    assert (listed.rule_count, listed.group_to_group_rule_count) == (3, 1)


@pytest.mark.parametrize("fields, code", [
    (dict(ip_protocol="tcp", port_range="0/22", source_cidr_ip="0.0.0.0/0"), "InvalidPortRange.Malformed"),
    (dict(ip_protocol="tcp", port_range="22/21", source_cidr_ip="0.0.0.0/0"), "InvalidPortRange.Malformed"),
    (dict(ip_protocol="icmp", port_range="22/22", source_cidr_ip="0.0.0.0/0"), "InvalidPortRange.Malformed"),
    (dict(ip_protocol="sctp", port_range="1/2", source_cidr_ip="0.0.0.0/0"), "InvalidIpProtocol.Malformed"),
    (dict(ip_protocol="tcp", port_range="80/80", source_cidr_ip="10.0.0.300/8"), "InvalidSourceCidrIp.Malformed"),
    (dict(ip_protocol="tcp", port_range="80/80", source_cidr_ip="0.0.0.0/0", policy="maybe"), "InvalidPolicy.Malformed"),
    (dict(ip_protocol="tcp", port_range="80/80", source_cidr_ip="0.0.0.0/0", priority="101"),
     "InvalidPriority.Malformed"),
    (dict(ip_protocol="tcp", port_range="80/80"), "MissingParameter"),
    (dict(ip_protocol="tcp", port_range="80/80", source_group_id="sg-doesnotexist0000000"),
     "InvalidSecurityGroupId.NotFound"),
])
def test_authorize_checks_each_rule(emulator, ecs_client, fields, code):
    group_id = _create(ecs_client)
    assert _error(lambda: _authorize(ecs_client, group_id, _ingress(**fields))).code == code
    assert emulator.table("security_groups")[group_id]["Permissions"]["Permission"] == []


def test_a_group_holds_at_most_200_rules(emulator, ecs_client):
    group_id = _create(ecs_client)
    for start in range(1, 201, 50):
        _authorize(ecs_client, group_id, *[_ingress(ip_protocol="tcp", port_range=f"{p}/{p}", source_cidr_ip="0.0.0.0/0")
                                           for p in range(start, start + 50)])
    error = _error(lambda: _authorize(ecs_client, group_id, _ingress(ip_protocol="tcp", port_range="999/999",
                                                                     source_cidr_ip="0.0.0.0/0")))
    assert (error.code, error.status_code) == ("AuthorizationLimitExceed", 403)
    page = ecs_client.describe_security_group_attribute(ecs_models.DescribeSecurityGroupAttributeRequest(
        region_id=REGION, security_group_id=group_id, max_results=150)).body
    assert len(page.permissions.permission) == 150 and page.next_token
    rest = ecs_client.describe_security_group_attribute(ecs_models.DescribeSecurityGroupAttributeRequest(
        region_id=REGION, security_group_id=group_id, max_results=150, next_token=page.next_token)).body
    assert len(rest.permissions.permission) == 50 and not rest.next_token


def test_revoke_by_fields_and_by_rule_id(emulator, ecs_client):
    group_id = _create(ecs_client)
    _authorize(ecs_client, group_id, _ingress(ip_protocol="tcp", port_range="22/22", source_cidr_ip="0.0.0.0/0"),
               _ingress(ip_protocol="tcp", port_range="443/443", source_cidr_ip="0.0.0.0/0"))
    ecs_client.authorize_security_group_egress(ecs_models.AuthorizeSecurityGroupEgressRequest(
        region_id=REGION, security_group_id=group_id, ip_protocol="all", dest_cidr_ip="0.0.0.0/0"))
    ecs_client.revoke_security_group(ecs_models.RevokeSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id, ip_protocol="TCP", port_range="22/22", source_cidr_ip="0.0.0.0/0"))
    # fields that match no rule: the service answers success and changes nothing
    ecs_client.revoke_security_group(ecs_models.RevokeSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id, ip_protocol="UDP", port_range="1/1", source_cidr_ip="0.0.0.0/0"))
    assert [r.port_range for r in _rules(ecs_client, group_id, direction="ingress")] == ["443/443"]
    (egress,) = _rules(ecs_client, group_id, direction="egress")
    error = _error(lambda: ecs_client.revoke_security_group(ecs_models.RevokeSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id, security_group_rule_id=[egress.security_group_rule_id])))
    assert (error.code, error.status_code) == ("InvalidSecurityGroupRuleId.NotFound", 404)   # an egress rule
    ecs_client.revoke_security_group_egress(ecs_models.RevokeSecurityGroupEgressRequest(
        region_id=REGION, security_group_id=group_id, security_group_rule_id=[egress.security_group_rule_id]))
    assert [r.direction for r in _rules(ecs_client, group_id)] == ["ingress"]


def test_delete_is_refused_while_an_instance_or_another_group_uses_it(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    group_id = emulator.table("instances")[instance_id]["SecurityGroupIds"]["SecurityGroupId"][0]
    error = _error(lambda: ecs_client.delete_security_group(ecs_models.DeleteSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id)))
    assert (error.code, error.status_code) == ("DependencyViolation", 403)
    (listed,) = ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
        region_id=REGION, security_group_ids=json.dumps([group_id]))).body.security_groups.security_group
    assert listed.ecs_count == 1 and listed.available_instance_amount == 1999

    wait_for(ecs_client, [instance_id], "Running")
    ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    other_id = _create(ecs_client, name="peer")
    _authorize(ecs_client, other_id, _ingress(ip_protocol="tcp", port_range="5432/5432", source_group_id=group_id))
    error = _error(lambda: ecs_client.delete_security_group(ecs_models.DeleteSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id)))
    assert error.code == "DependencyViolation" and other_id in error.message
    ecs_client.delete_security_group(ecs_models.DeleteSecurityGroupRequest(region_id=REGION, security_group_id=other_id))
    ecs_client.delete_security_group(ecs_models.DeleteSecurityGroupRequest(region_id=REGION, security_group_id=group_id))
    assert not emulator.table("security_groups")
    error = _error(lambda: ecs_client.delete_security_group(ecs_models.DeleteSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id)))
    assert (error.code, error.status_code) == ("InvalidSecurityGroupId.NotFound", 404)


def test_paging_and_filters(emulator, ecs_client, vpc_client):
    ids = [_create(ecs_client, name=f"group-{n}") for n in range(12)]
    first = ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
        region_id=REGION, page_size=5, page_number=3)).body
    assert (first.total_count, [g.security_group_id for g in first.security_groups.security_group]) == (12, ids[10:])
    seen, token = [], None
    while True:
        answer = ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
            region_id=REGION, max_results=5, next_token=token)).body
        seen += [g.security_group_id for g in answer.security_groups.security_group]
        token = answer.next_token
        if not token:
            break
    assert seen == ids
    fuzzy = ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
        region_id=REGION, security_group_name="group-1", fuzzy_query=True)).body
    assert fuzzy.total_count == 3                              # group-1, group-10, group-11
    assert ecs_client.describe_security_groups(ecs_models.DescribeSecurityGroupsRequest(
        region_id=REGION, network_type="vpc")).body.total_count == 0


def test_groups_and_rules_survive_a_restart(own_emulator):
    client = EcsClient(sdk_config(own_emulator))
    group_id = _create(client)
    _authorize(client, group_id, _ingress(ip_protocol="tcp", port_range="80/80", source_cidr_ip="0.0.0.0/0"))
    own_emulator.restart()
    client = EcsClient(sdk_config(own_emulator))
    assert [r.port_range for r in _rules(client, group_id)] == ["80/80"]


def test_client_token_makes_create_idempotent(emulator, ecs_client):
    assert _create(ecs_client, client_token="job-9") == _create(ecs_client, client_token="job-9")
    assert len(emulator.table("security_groups")) == 1


def test_rules_signed_the_older_v2_way_carry_their_lists(emulator, make_ecs_client):
    client = make_ecs_client(signature_algorithm="v2")
    group_id = _create(client, name="v2-group")
    _authorize(client, group_id, _ingress(ip_protocol="tcp", port_range="80/80", source_cidr_ip="0.0.0.0/0"),
               _ingress(ip_protocol="tcp", port_range="443/443", source_cidr_ip="0.0.0.0/0", description="中文描述"))
    rules = _rules(client, group_id)
    assert [(r.port_range, r.description) for r in rules] == [("80/80", ""), ("443/443", "中文描述")]
    client.revoke_security_group(ecs_models.RevokeSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id, security_group_rule_id=[r.security_group_rule_id for r in rules]))
    assert _rules(client, group_id) == []

"""ECS security groups: CreateSecurityGroup, DescribeSecurityGroups, DescribeSecurityGroupAttribute,
ModifySecurityGroupAttribute, DeleteSecurityGroup (refused while an instance uses the group or
another group's rule names it). Their rules live in the group's record under Permissions (the shape
DescribeSecurityGroupAttribute answers); see ecs_security_group_rules.py for Authorize/Revoke."""
from collections import Counter

from . import resource_names, resource_tags
from .client_tokens import idempotent
from .errors import ApiError, invalid_parameter, not_found, quota_exceeded
from .paging import by_next_token, by_page_number, wants_next_token
from .registry import action
from .resource_groups import resource_group
from .state import public
from .timestamps import creation_order, iso_seconds

# private addresses a group can hold (normal: 2,000; enterprise: 65,536), for AvailableInstanceAmount
CAPACITY = {"normal": 2000, "enterprise": 65536}


def find_group(call, group_id):
    group = call.table("security_groups").get(group_id)
    if group is None:
        raise not_found("InvalidSecurityGroupId.NotFound", "SecurityGroupId", group_id)
    return group


def instances_in(call, group_id):
    return [i for i in call.table("instances").values()
            if group_id in ((i.get("SecurityGroupIds") or {}).get("SecurityGroupId") or [])]


def rules(group):
    return group["Permissions"]["Permission"]


def _members_per_group(call):
    # counted once per call: a region may hold thousands of instances and hundreds of groups
    return Counter(group_id for i in call.table("instances").values()
                   for group_id in ((i.get("SecurityGroupIds") or {}).get("SecurityGroupId") or []))


def _summary(group, members):
    """A group as DescribeSecurityGroups lists it: no rules, their counts and the instances in it."""
    answer = {k: v for k, v in public(group).items() if k not in ("Permissions", "InnerAccessPolicy")}
    answer.update({
        "EcsCount": members,
        "AvailableInstanceAmount": max(CAPACITY[group["SecurityGroupType"]] - members, 0),
        "RuleCount": len(rules(group)),
        "GroupToGroupRuleCount": len([r for r in rules(group) if r["SourceGroupId"] or r["DestGroupId"]]),
    })
    return answer


@action("Ecs", "CreateSecurityGroup")
@idempotent
def create_security_group(call):
    p = call.params
    name = resource_names.name(p.str("SecurityGroupName"), "SecurityGroupName", "InvalidSecurityGroupName.Malformed",
                               minimum=2)
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed", minimum=2)
    kind = p.str("SecurityGroupType", default="normal")
    if kind not in CAPACITY:
        raise invalid_parameter("SecurityGroupType", kind, code="InvalidSecurityGroupType.Malformed")
    vpc_id = p.str("VpcId")
    if vpc_id and vpc_id not in call.table("vpcs"):
        raise not_found("InvalidVpcId.NotFound", "VpcId", vpc_id)
    tags = resource_tags.requested(p)
    groups = call.table("security_groups")
    if len(groups) >= call.quota("max_security_groups"):
        raise quota_exceeded("QuotaExceed.SecurityGroup", "The maximum number of security groups in this region is reached.")
    resource_names.dry_run(call)

    now = call.now()
    group_id = call.emulator.new_id("sg")
    groups[group_id] = {
        "SecurityGroupId": group_id, "SecurityGroupName": name or "", "Description": description or "",
        "VpcId": vpc_id or "", "SecurityGroupType": kind, "CreationTime": iso_seconds(now),
        "ResourceGroupId": resource_group(call), "ServiceManaged": False, "Tags": {"Tag": tags},
        # a normal group lets its members talk to each other; an enterprise group does not
        "InnerAccessPolicy": "Accept" if kind == "normal" else "Drop",
        "Permissions": {"Permission": []}, "_created": now,
    }
    return {"SecurityGroupId": group_id}


@action("Ecs", "DescribeSecurityGroups")
def describe_security_groups(call):
    p = call.params
    wanted_ids = set(p.json_list("SecurityGroupIds"))
    if p.str("SecurityGroupId"):
        wanted_ids.add(p.str("SecurityGroupId"))
    name = p.str("SecurityGroupName")
    fuzzy = p.bool("FuzzyQuery")
    network_type = p.str("NetworkType")
    exact = {"VpcId": p.str("VpcId"), "SecurityGroupType": p.str("SecurityGroupType"),
             "ResourceGroupId": p.str("ResourceGroupId")}
    rows = []
    for group in creation_order(call.table("security_groups").values(), "SecurityGroupId"):
        if wanted_ids and group["SecurityGroupId"] not in wanted_ids:
            continue
        if any(value is not None and group[field] != value for field, value in exact.items()):
            continue
        if name and not (name in group["SecurityGroupName"] if fuzzy else group["SecurityGroupName"] == name):
            continue
        if network_type and (network_type == "vpc") != bool(group["VpcId"]):
            continue
        if not resource_tags.matches(group["Tags"]["Tag"], p):
            continue
        rows.append(group)
    if wants_next_token(p):
        page, info = by_next_token(rows, p, default_size=10, max_size=100)
    else:
        page, info = by_page_number(rows, p, default_size=10, max_size=50)
    members = _members_per_group(call)
    answered = [_summary(g, members[g["SecurityGroupId"]]) for g in page]
    return {"RegionId": call.region, "SecurityGroups": {"SecurityGroup": answered}, **info}


@action("Ecs", "DescribeSecurityGroupAttribute")
def describe_security_group_attribute(call):
    p = call.params
    group = find_group(call, p.str("SecurityGroupId", required=True))
    direction = p.str("Direction", default="all", choices=("all", "ingress", "egress"))
    nic_type = p.str("NicType")
    shown = [r for r in rules(group)
             if direction in ("all", r["Direction"]) and (nic_type is None or r["NicType"] == nic_type)]
    answer = {"RegionId": call.region, "SecurityGroupId": group["SecurityGroupId"],
              "SecurityGroupName": group["SecurityGroupName"], "Description": group["Description"],
              "VpcId": group["VpcId"], "InnerAccessPolicy": group["InnerAccessPolicy"],
              "SnapshotPolicyIds": {"SnapshotPolicyId": []}}
    if wants_next_token(p):
        shown, info = by_next_token(shown, p, default_size=10, max_size=1000)
        answer["NextToken"] = info["NextToken"]
    names = {g["SecurityGroupId"]: g["SecurityGroupName"] for g in call.table("security_groups").values()}
    answer["Permissions"] = {"Permission": [
        {**rule, "SourceGroupName": names.get(rule["SourceGroupId"], ""),
         "DestGroupName": names.get(rule["DestGroupId"], "")} for rule in shown]}
    return answer


@action("Ecs", "ModifySecurityGroupAttribute")
def modify_security_group_attribute(call):
    p = call.params
    group = find_group(call, p.str("SecurityGroupId", required=True))
    name = resource_names.name(p.str("SecurityGroupName"), "SecurityGroupName", "InvalidSecurityGroupName.Malformed",
                               minimum=2)
    description = resource_names.description(p.str("Description"), "InvalidDescription.Malformed", minimum=2)
    if name is not None:
        group["SecurityGroupName"] = name
    if description is not None:
        group["Description"] = description
    return {}


@action("Ecs", "DeleteSecurityGroup")
def delete_security_group(call):
    group = find_group(call, call.params.str("SecurityGroupId", required=True))
    group_id = group["SecurityGroupId"]
    members = instances_in(call, group_id)
    if members:
        raise ApiError(403, "DependencyViolation",
                       f"There is still instance(s) in the specified security group \"{group_id}\", "
                       f"e.g. \"{members[0]['InstanceId']}\".")
    for other in call.table("security_groups").values():
        if other is not group and any(group_id in (r["SourceGroupId"], r["DestGroupId"]) for r in rules(other)):
            raise ApiError(403, "DependencyViolation",
                           f"The specified security group \"{group_id}\" has been authorized in another security "
                           f"group \"{other['SecurityGroupId']}\".")
    del call.table("security_groups")[group_id]
    return {}

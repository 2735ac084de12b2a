"""Security groups made and deleted in the cloud, and their rules added and removed (H4).

    add-rule:    AuthorizeRule -> ReadRules -> SaveRules
    remove-rule: RevokeRule -> ReadRules -> SaveRules

A rule the group has already is not added again (the cloud would keep one copy), and then a
failure after it does not revoke it: it was not this job's.
Arguments: row_uuid; add-rule: the rule's fields (``RuleBody``'s); remove-rule: rule_id.
"""
import json

from apps.core.errors import NotFound
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..models import AlibabaSecurityGroup
from ..remote_kinds import PORTAL_TAG, SECURITY_GROUPS
from ..security_rules import permission, rules_of, same_rule
from .network_common import RemoteType, cloud_of, create_steps, delete_steps, row_of, save_fields, tagged


class SecurityGroup(RemoteType):
    model, kind, what = AlibabaSecurityGroup, SECURITY_GROUPS, "security group"
    ready = ()    # no status: usable once listed
    moving = ()

    def describe(self, cloud, row, remote_id):
        body = cloud.ecs("DescribeSecurityGroups", {"SecurityGroupIds": json.dumps([remote_id])})
        item = next((g for g in body["SecurityGroups"]["SecurityGroup"] if g["SecurityGroupId"] == remote_id), None)
        if item is None:
            return None
        rules = rules_of(cloud, remote_id)
        return None if rules is None else {**item, "_rules": rules}

    def made_for(self, cloud, row):
        items = cloud.ecs_pages("DescribeSecurityGroups", {"Tag": [{"Key": PORTAL_TAG, "Value": str(row.uuid)}]},
                                "SecurityGroups.SecurityGroup")
        return tagged(self, items, row)

    def create(self, cloud, row, tags, token):
        params = {"VpcId": row.vpc_id, "SecurityGroupType": row.security_group_type, "Tag": tags,
                  "ClientToken": token}
        if row.name:
            params["SecurityGroupName"] = row.name
        if len(row.description) >= 2:   # the cloud's shortest description
            params["Description"] = row.description
        return cloud.ecs("CreateSecurityGroup", params)["SecurityGroupId"]

    def delete(self, cloud, row, remote_id):
        cloud.ecs("DeleteSecurityGroup", {"SecurityGroupId": remote_id})


SECURITY_GROUP = SecurityGroup()


def _authorize_action(direction, revoke=False):
    if revoke:
        return "RevokeSecurityGroup" if direction == "ingress" else "RevokeSecurityGroupEgress"
    return "AuthorizeSecurityGroup" if direction == "ingress" else "AuthorizeSecurityGroupEgress"


class AuthorizeRule(RemoteStep):
    def run(self, ctx):
        row = row_of(ctx, SECURITY_GROUP)
        rule = ctx.args   # the rule's fields (network_serializers.RuleBody)
        if any(same_rule(kept, rule) for kept in rules_of(cloud_of(ctx, SECURITY_GROUP), row.security_group_id) or []):
            ctx.rule_existed = True
            return
        cloud_of(ctx, SECURITY_GROUP).ecs(_authorize_action(rule["direction"]), {
            "SecurityGroupId": row.security_group_id, "Permissions": [permission(rule)]})

    def rollback(self, ctx):
        if ctx.get("rule_existed"):
            return
        row = row_of(ctx, SECURITY_GROUP)
        rule = ctx.args   # the rule's fields (network_serializers.RuleBody)
        cloud_of(ctx, SECURITY_GROUP).ecs(_authorize_action(rule["direction"], revoke=True), {
            "SecurityGroupId": row.security_group_id, "Permissions": [permission(rule)]})


class RevokeRule(RemoteStep, NoRollback):
    def run(self, ctx):
        row = row_of(ctx, SECURITY_GROUP)
        kept = next((rule for rule in row.rules if rule["rule_id"] == ctx.args["rule_id"]), None)
        if kept is None:
            raise NotFound(f"security group {row.security_group_id} has no rule {ctx.args['rule_id']}",
                           code="RULE_NOT_FOUND", details={"rule_id": ctx.args["rule_id"]})
        cloud_of(ctx, SECURITY_GROUP).ecs(_authorize_action(kept["direction"], revoke=True), {
            "SecurityGroupId": row.security_group_id, "SecurityGroupRuleId": [kept["rule_id"]]})


class ReadRules(RemoteStep, NoRollback):
    def run(self, ctx):
        ctx.rules = rules_of(cloud_of(ctx, SECURITY_GROUP), row_of(ctx, SECURITY_GROUP).security_group_id) or []


class SaveRules(DbStep, NoRollback):
    def run(self, ctx):
        save_fields(SECURITY_GROUP, ctx.args["row_uuid"], rules=ctx.rules)
        ctx.result = {"uuid": ctx.args["row_uuid"], "rules": len(ctx.rules)}


CREATE_SECURITY_GROUP = Flow("create-alibaba-security-group", create_steps(SECURITY_GROUP),
                             action="create-alibaba-security-group", timeout=3600)
DELETE_SECURITY_GROUP = Flow("delete-alibaba-security-group", delete_steps(SECURITY_GROUP),
                             action="delete-alibaba-security-group", timeout=3600)
ADD_RULE = Flow("add-alibaba-security-group-rule", [AuthorizeRule, ReadRules, SaveRules])
REMOVE_RULE = Flow("remove-alibaba-security-group-rule", [RevokeRule, ReadRules, SaveRules])

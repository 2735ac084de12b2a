"""A security group's rules as the portal keeps and shows them (snake_case, one dict per rule),
read from the cloud's ``Permissions.Permission`` items, and the cloud's parameters of a rule the
API was asked to add."""
from .cloud import AlibabaError, is_not_found

# the portal's name -> the cloud's
RULE_FIELDS = {
    "rule_id": "SecurityGroupRuleId", "direction": "Direction", "ip_protocol": "IpProtocol",
    "port_range": "PortRange", "source_cidr_ip": "SourceCidrIp", "dest_cidr_ip": "DestCidrIp",
    "source_group_id": "SourceGroupId", "dest_group_id": "DestGroupId", "policy": "Policy",
    "priority": "Priority", "nic_type": "NicType", "description": "Description",
}


def rule_values(permission):
    """One rule of the cloud's answer as the portal keeps it."""
    rule = {name: permission.get(field) or "" for name, field in RULE_FIELDS.items()}
    rule["priority"] = int(rule["priority"] or 1)
    rule["policy"] = rule["policy"].capitalize()
    return rule


def rules_of(cloud, security_group_id):
    """The group's rules (ingress and egress), read now; None when the cloud has no such group."""
    try:
        body = cloud.ecs("DescribeSecurityGroupAttribute", {"SecurityGroupId": security_group_id, "Direction": "all"})
    except AlibabaError as exc:
        if is_not_found(exc):
            return None
        raise
    return [rule_values(p) for p in (body.get("Permissions") or {}).get("Permission") or []]


def permission(rule):
    """The cloud's ``Permissions.N`` fields of a rule to add or revoke (``rule``: the API's body)."""
    peer = "SourceCidrIp" if rule["direction"] == "ingress" else "DestCidrIp"
    found = {"IpProtocol": rule["ip_protocol"], "PortRange": rule["port_range"], peer: rule["cidr_ip"],
             "Policy": rule["policy"], "Priority": str(rule["priority"]), "NicType": rule["nic_type"]}
    if rule.get("description"):
        found["Description"] = rule["description"]
    return found


def same_rule(kept, rule):
    """Whether ``kept`` (a rule of the group) is the rule the API was asked to add."""
    peer = "source_cidr_ip" if rule["direction"] == "ingress" else "dest_cidr_ip"
    return (kept["direction"], kept["ip_protocol"].upper(), kept["port_range"], kept[peer], kept["policy"].lower(),
            kept["nic_type"]) == (rule["direction"], rule["ip_protocol"].upper(), rule["port_range"], rule["cidr_ip"],
                                  rule["policy"].lower(), rule["nic_type"])

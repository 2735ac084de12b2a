"""Security group rules: AuthorizeSecurityGroup(Egress) and RevokeSecurityGroup(Egress). A call
gives its rules as `Permissions.N.*` or, the older way, as top-level parameters. A rule the group
already has is not added twice; revoking by fields that match nothing succeeds, as the service does;
revoking by SecurityGroupRuleId needs ids the group has."""
import ipaddress

from .ecs_security_groups import find_group, rules
from .errors import ApiError, invalid_parameter, missing_parameter, not_found
from .registry import action
from .timestamps import iso_seconds

MAX_RULES = 200
PROTOCOLS = {"TCP", "UDP", "ICMP", "ICMPV6", "GRE", "ALL"}
PORTED = {"TCP", "UDP"}
# fields that make two rules the same rule (priority and description do not)
IDENTITY = ("Direction", "IpProtocol", "PortRange", "SourcePortRange", "SourceCidrIp", "Ipv6SourceCidrIp",
            "SourceGroupId", "SourcePrefixListId", "DestCidrIp", "Ipv6DestCidrIp", "DestGroupId",
            "DestPrefixListId", "Policy", "NicType")
FIELDS = ("IpProtocol", "PortRange", "SourcePortRange", "SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId",
          "SourcePrefixListId", "DestCidrIp", "Ipv6DestCidrIp", "DestGroupId", "DestPrefixListId", "Policy",
          "Priority", "NicType", "Description", "PortRangeListId")


def _requested(params):
    """The rules of a call as dicts of the fields it gave."""
    given = params.objects("Permissions")
    if given:
        return given
    legacy = {name: params.str(name) for name in FIELDS if params.str(name) is not None}
    return [legacy] if legacy else []


def _port_range(protocol, value):
    if protocol not in PORTED:
        if value not in (None, "", "-1/-1"):
            raise ApiError(400, "InvalidPortRange.Malformed",
                           f"The port range of an {protocol} rule is -1/-1, not \"{value}\".")
        return "-1/-1"
    if not value:
        raise missing_parameter("PortRange")
    start, _, end = value.partition("/")
    try:
        low, high = int(start), int(end)
    except ValueError:
        raise ApiError(400, "InvalidPortRange.Malformed", f"The specified PortRange \"{value}\" is not valid.") from None
    if not 1 <= low <= high <= 65535:
        raise ApiError(400, "InvalidPortRange.Malformed", f"The specified PortRange \"{value}\" is not valid.")
    return f"{low}/{high}"


def _cidr(value, name, version):
    if not value:
        return ""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        network = None
    if network is None or network.version != version:
        raise ApiError(400, f"Invalid{name}.Malformed", f"The specified {name} \"{value}\" is not valid.")
    return value


def _normalized(call, direction, fields):
    """A rule as the group keeps it, checked the way the service checks it."""
    protocol = (fields.get("IpProtocol") or "").upper()
    if not protocol:
        raise missing_parameter("IpProtocol")
    if protocol not in PROTOCOLS:
        raise ApiError(400, "InvalidIpProtocol.Malformed", f"The specified IpProtocol \"{fields['IpProtocol']}\" is not valid.")
    policy = (fields.get("Policy") or "accept").lower()
    if policy not in ("accept", "drop"):
        raise invalid_parameter("Policy", fields.get("Policy"), code="InvalidPolicy.Malformed")
    priority = fields.get("Priority") or "1"
    if not priority.isdigit() or not 1 <= int(priority) <= 100:
        raise invalid_parameter("Priority", priority, code="InvalidPriority.Malformed")
    nic_type = fields.get("NicType") or "intranet"
    if nic_type not in ("intranet", "internet"):
        raise invalid_parameter("NicType", nic_type, code="InvalidNicType.ValueNotSupported")
    rule = {
        "Direction": direction, "IpProtocol": "ICMPv6" if protocol == "ICMPV6" else protocol,
        "PortRange": _port_range(protocol, fields.get("PortRange")),
        "SourcePortRange": fields.get("SourcePortRange") or "",
        "SourceCidrIp": _cidr(fields.get("SourceCidrIp"), "SourceCidrIp", 4),
        "Ipv6SourceCidrIp": _cidr(fields.get("Ipv6SourceCidrIp"), "Ipv6SourceCidrIp", 6),
        "SourceGroupId": fields.get("SourceGroupId") or "",
        "SourcePrefixListId": fields.get("SourcePrefixListId") or "",
        "DestCidrIp": _cidr(fields.get("DestCidrIp"), "DestCidrIp", 4),
        "Ipv6DestCidrIp": _cidr(fields.get("Ipv6DestCidrIp"), "Ipv6DestCidrIp", 6),
        "DestGroupId": fields.get("DestGroupId") or "", "DestPrefixListId": fields.get("DestPrefixListId") or "",
        "Policy": policy.capitalize(), "Priority": str(int(priority)), "NicType": nic_type,
        "Description": fields.get("Description") or "", "PortRangeListId": fields.get("PortRangeListId") or "",
        "PortRangeListName": "", "SourcePrefixListName": "", "DestPrefixListName": "",
    }
    peer_field = "SourceGroupId" if direction == "ingress" else "DestGroupId"
    peer_fields = ("SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId", "SourcePrefixListId") if direction == "ingress" \
        else ("DestCidrIp", "Ipv6DestCidrIp", "DestGroupId", "DestPrefixListId")
    if not any(rule[f] for f in peer_fields):
        raise missing_parameter(peer_fields[0])
    if rule[peer_field]:
        find_group(call, rule[peer_field])
        if nic_type != "intranet":
            raise invalid_parameter("NicType", nic_type, code="InvalidNicType.ValueNotSupported")
    return rule


def _identity(rule):
    return tuple(rule[f] for f in IDENTITY)


def _authorize(call, direction):
    group = find_group(call, call.params.str("SecurityGroupId", required=True))
    asked = _requested(call.params)
    if not asked:
        raise missing_parameter("Permissions")
    new_rules = [_normalized(call, direction, fields) for fields in asked]
    existing = {_identity(r) for r in rules(group)}
    added = []
    for rule in new_rules:
        if _identity(rule) in existing:
            continue    # the service answers success and keeps one copy
        existing.add(_identity(rule))
        added.append(rule)
    if len(rules(group)) + len(added) > MAX_RULES:
        raise ApiError(403, "AuthorizationLimitExceed",
                       f"The limit of authorization records in the security group reaches ({MAX_RULES}).")
    now = iso_seconds(call.now())
    for rule in added:
        rule.update({"SecurityGroupRuleId": call.emulator.new_id("sgr"), "CreateTime": now})
        rules(group).append(rule)
    return {}


def _revoke(call, direction):
    p = call.params
    group = find_group(call, p.str("SecurityGroupId", required=True))
    rule_ids = p.list("SecurityGroupRuleId")
    if rule_ids:
        held = {r["SecurityGroupRuleId"] for r in rules(group) if r["Direction"] == direction}
        for rule_id in rule_ids:
            if rule_id not in held:
                raise not_found("InvalidSecurityGroupRuleId.NotFound", "SecurityGroupRuleId", rule_id)
        group["Permissions"]["Permission"] = [r for r in rules(group) if r["SecurityGroupRuleId"] not in rule_ids]
        return {}
    asked = _requested(p)
    if not asked:
        raise missing_parameter("SecurityGroupRuleId")
    gone = {_identity(_normalized(call, direction, fields)) for fields in asked}
    group["Permissions"]["Permission"] = [r for r in rules(group) if _identity(r) not in gone]
    return {}


@action("Ecs", "AuthorizeSecurityGroup")
def authorize_security_group(call):
    return _authorize(call, "ingress")


@action("Ecs", "AuthorizeSecurityGroupEgress")
def authorize_security_group_egress(call):
    return _authorize(call, "egress")


@action("Ecs", "RevokeSecurityGroup")
def revoke_security_group(call):
    return _revoke(call, "ingress")


@action("Ecs", "RevokeSecurityGroupEgress")
def revoke_security_group_egress(call):
    return _revoke(call, "egress")

"""ECS DescribeInstances (filters, both paging styles), DescribeInstanceAttribute, DescribeInstanceStatus."""
import fnmatch

from . import ecs_instance_model as model
from .errors import ApiError
from .paging import by_next_token, by_page_number, wants_next_token
from .registry import action
from .state import public


def _matches_name(pattern, name):
    # InstanceName takes * as a wildcard (fuzzy search), as the real service does
    return fnmatch.fnmatchcase(name, pattern) if "*" in pattern else name == pattern


def _filters(p):
    """(predicate over a record) for the filters DescribeInstances was given."""
    ids = set(p.json_list("InstanceIds"))
    if len(ids) > 100:
        raise ApiError(400, "InvalidInstanceIds.ValueNotSupported", "The specified parameter InstanceIds is not valid.")
    private_ips = set(p.json_list("PrivateIpAddresses"))
    public_ips = set(p.json_list("PublicIpAddresses"))
    eips = set(p.json_list("EipAddresses"))
    simple = {key: p.str(key) for key in ("ZoneId", "Status", "InstanceType", "InstanceTypeFamily", "InstanceChargeType",
                                         "InternetChargeType", "ImageId", "KeyPairName", "ResourceGroupId",
                                         "InstanceNetworkType") if key in p}
    vpc_id, vswitch_id, group_id = p.str("VpcId"), p.str("VSwitchId"), p.str("SecurityGroupId")
    name = p.str("InstanceName")
    tags = [(t.get("Key"), t.get("Value")) for t in p.objects("Tag") if t.get("Key")]

    def keep(record):
        if ids and record["InstanceId"] not in ids:
            return False
        if any(record.get(key) != value for key, value in simple.items()):
            return False
        network = record["VpcAttributes"]
        if vpc_id and network["VpcId"] != vpc_id or vswitch_id and network["VSwitchId"] != vswitch_id:
            return False
        if group_id and group_id not in record["SecurityGroupIds"]["SecurityGroupId"]:
            return False
        if name and not _matches_name(name, record["InstanceName"]):
            return False
        if private_ips and not private_ips & set(network["PrivateIpAddress"]["IpAddress"]):
            return False
        if public_ips and not public_ips & set(record["PublicIpAddress"]["IpAddress"]):
            return False
        if eips and record["EipAddress"]["IpAddress"] not in eips:
            return False
        held = {(t["TagKey"], t["TagValue"]) for t in record["Tags"]["Tag"]}
        held_keys = {k for k, _ in held}
        return all((key, value) in held if value is not None else key in held_keys for key, value in tags)

    return keep


@action("Ecs", "DescribeInstances")
def describe_instances(call):
    p = call.params
    keep = _filters(p)
    found = [record for record in call.table(model.TABLE).values() if keep(record)]
    if wants_next_token(p):
        page, info = by_next_token(found, p, default_size=10, max_size=100)
    else:
        page, info = by_page_number(found, p, default_size=10, max_size=100)
    return {"Instances": {"Instance": [public(r) for r in page]}, **info}


@action("Ecs", "DescribeInstanceAttribute", regional=False)
def describe_instance_attribute(call):
    record = public(model.find(call, call.params.str("InstanceId", required=True)))
    locks = record.pop("OperationLocks")["LockReason"]
    return {**record, "OperationLocks": {"LockReason": [{"LockReason": lock.get("LockReason", "")} for lock in locks]},
            "NetworkOptions": {"EnableJumboFrame": False, "EnableNetworkEncryption": False}}


@action("Ecs", "DescribeInstanceStatus")
def describe_instance_status(call):
    p = call.params
    wanted = set(p.list("InstanceId"))
    zone_id = p.str("ZoneId")
    found = [{"InstanceId": r["InstanceId"], "Status": r["Status"]} for r in call.table(model.TABLE).values()
             if (not wanted or r["InstanceId"] in wanted) and (not zone_id or r["ZoneId"] == zone_id)]
    page, info = by_page_number(found, p, default_size=10, max_size=50)
    return {"InstanceStatuses": {"InstanceStatus": page}, **info}

"""Router interface records: the two ends of an Express Connect link, one on a VBR and one on a
VPC's VRouter (or two VRouters). The initiating end connects to the accepting one; each then moves
through the statuses the real service reports:
    Idle → Connecting (initiator) / AcceptingConnecting (acceptor) → Active
    Active → Deactivating → Inactive → Activating → Active
    Idle | Inactive → Deleting → (gone)
The fields about the other end (OppositeInterfaceStatus, OppositeBandwidth, ...) are read from the
other record when answering, so they never go stale."""
from .errors import ApiError, incorrect_status, not_found
from .state import public
from .vpc_references import vrouter_vpc_id

TABLE = "router_interfaces"
INITIATING = "InitiatingSide"
ACCEPTING = "AcceptingSide"
ROUTER_TYPES = ("VRouter", "VBR")

# Spec → bandwidth in Mbit/s, as CreateRouterInterface documents; an accepting end has no spec.
SPECS = {"Mini.2": 2, "Mini.5": 5, "Small.1": 10, "Small.2": 20, "Small.5": 50, "Middle.1": 100,
         "Middle.2": 200, "Middle.5": 500, "Large.1": 1000, "Large.2": 2000, "Large.5": 5000,
         "Xlarge.1": 10000, "Negative": 0}

# what a pay-as-you-go interface answers as its end time
NO_END_TIME = "2999-09-08T16:00:00Z"


def rows_of(emulator, account, region):
    """Router interfaces of one account and region, read without creating empty tables."""
    return emulator.data["accounts"].get(account, {}).get("regions", {}).get(region, {}).get(TABLE, {})


def find(call, interface_id):
    record = call.table(TABLE).get(interface_id)
    if record is None:
        raise not_found("InvalidRouterInterfaceId.NotFound", "RouterInterfaceId", interface_id)
    return record


def require_status(record, *allowed):
    if record["Status"] not in allowed:
        raise incorrect_status("router interface", record["RouterInterfaceId"], record["Status"],
                               code="IncorrectStatus.RouterInterface")


def owner_of_opposite(record, account):
    return record.get("OppositeInterfaceOwnerId") or account


def opposite_of(emulator, account, record):
    """The record at the other end, wherever (account, region) it lives, or None."""
    interface_id = record.get("OppositeInterfaceId")
    if not interface_id:
        return None
    return rows_of(emulator, owner_of_opposite(record, account), record["OppositeRegionId"]).get(interface_id)


def schedule_elsewhere(emulator, account, region, record, steps):
    """Timed steps for a record that may be in another account or region than the call's."""
    emulator.schedule(account, region, TABLE, record["RouterInterfaceId"], steps)


def render(emulator, account, record):
    """The record as DescribeRouterInterfaces answers it, with the other end's live fields."""
    answer = public(record)
    opposite = opposite_of(emulator, account, record)
    answer.update({
        "OppositeInterfaceStatus": opposite["Status"] if opposite else "",
        "OppositeInterfaceSpec": opposite["Spec"] if opposite else "",
        "OppositeInterfaceBusinessStatus": opposite["BusinessStatus"] if opposite else "",
        "OppositeBandwidth": opposite["Bandwidth"] if opposite else 0,
        "OppositeVpcInstanceId": opposite.get("VpcInstanceId", "") if opposite else "",
    })
    if not answer.get("OppositeVpcInstanceId") and record.get("OppositeRouterType") == "VRouter":
        vpc_id = vrouter_vpc_id(emulator, owner_of_opposite(record, account), record["OppositeRegionId"],
                                record.get("OppositeRouterId", ""))
        answer["OppositeVpcInstanceId"] = vpc_id or ""
    return answer


def link_error(code, message):
    """The ends of a link do not fit together (roles, routers, owners): a 400 like the real one."""
    return ApiError(400, code, message)

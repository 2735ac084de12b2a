"""CreateRouterInterface, DescribeRouterInterfaces, ModifyRouterInterfaceAttribute and
DeleteRouterInterface: the ends of an Express Connect link and what a caller may change on them.
Connecting and (de)activating a link are in express_connect_links."""
import secrets

from . import idempotency
from . import router_interface_model as model
from .errors import ApiError, invalid_parameter, missing_parameter, not_found
from .express_connect_links import start_connecting
from .express_connect_vbrs import vbr_table
from .paging import by_page_number
from .regions import check_region
from .registry import action
from .resource_groups import resource_group
from .timestamps import creation_order, iso_seconds
from .vpc_filters import has_tags, matches, parse_filters, requested_tags
from .vpc_references import vrouter_vpc_id

FILTER_KEYS = {"RouterInterfaceId", "RouterId", "RouterType", "RouterInterfaceOwnerId", "OppositeInterfaceId",
               "OppositeRouterType", "OppositeRouterId", "OppositeInterfaceOwnerId", "Status", "Name", "Role"}


def _check_name(params, name, longest):
    value = params.str(name)
    if value is not None and (not 2 <= len(value) <= longest or value.startswith(("http://", "https://"))):
        raise invalid_parameter(name, value)
    return value


def _router_fields(call, router_type, router_id, region, account):
    """Checks that the router exists for its owner; answers the fields an end derives from it."""
    if router_type == "VBR":
        vbr = vbr_table(call.emulator, account, region).get(router_id)
        if vbr is None:
            raise not_found("InvalidRouterId.NotFound", "RouterId", router_id)
        return {"AccessPointId": vbr["AccessPointId"], "VpcInstanceId": ""}
    vpc_id = vrouter_vpc_id(call.emulator, account, region, router_id)
    if vpc_id is None:
        raise not_found("InvalidRouterId.NotFound", "RouterId", router_id)
    return {"AccessPointId": "", "VpcInstanceId": vpc_id}


def _charge(params, now):
    charge_type = params.str("InstanceChargeType", default="PostPaid", choices=("PostPaid", "PrePaid"))
    if charge_type == "PostPaid":
        return "AfterPay", model.NO_END_TIME, None
    cycle = params.str("PricingCycle", default="Month", choices=("Month", "Year"))
    period = params.int("Period", required=True, minimum=1, maximum=9 if cycle == "Month" else 3)
    days = period * (30 if cycle == "Month" else 365)
    return "Prepaid", iso_seconds(now + days * 86400), "".join(secrets.choice("0123456789") for _ in range(15))


@action("Vpc", "CreateRouterInterface")
def create_router_interface(call):
    earlier = idempotency.replay(call)   # a retried create with the same ClientToken
    if earlier is not None:
        return earlier
    p = call.params
    role = p.str("Role", required=True, choices=(model.INITIATING, model.ACCEPTING))
    router_type = p.str("RouterType", required=True, choices=model.ROUTER_TYPES)
    router_id = p.str("RouterId", required=True)
    opposite_region = p.str("OppositeRegionId", required=True)
    check_region(opposite_region)
    spec = p.str("Spec", default="Negative" if role == model.ACCEPTING else None, required=role == model.INITIATING,
                 choices=tuple(model.SPECS))
    if role == model.ACCEPTING:
        spec = "Negative"   # an accepting end takes the initiator's bandwidth, whatever was asked
    elif spec == "Negative":
        raise invalid_parameter("Spec", spec)
    opposite_type = p.str("OppositeRouterType", choices=model.ROUTER_TYPES)
    opposite_router = p.str("OppositeRouterId", default="")
    opposite_owner = p.str("OppositeInterfaceOwnerId", default="")
    if router_type == "VBR" and opposite_type == "VBR":
        raise invalid_parameter("OppositeRouterType", opposite_type)
    if ("HealthCheckSourceIp" in p) != ("HealthCheckTargetIp" in p):
        raise missing_parameter("HealthCheckTargetIp" if "HealthCheckSourceIp" in p else "HealthCheckSourceIp")

    tags = requested_tags(p, "Tags")
    own = _router_fields(call, router_type, router_id, call.region, call.account)
    access_point = p.str("AccessPointId", default=own["AccessPointId"])
    if router_type == "VBR" and access_point != own["AccessPointId"]:
        raise invalid_parameter("AccessPointId", access_point)
    opposite_access_point = p.str("OppositeAccessPointId", default="")
    if opposite_type == "VBR" and opposite_router and opposite_owner in ("", call.account):
        opposite_access_point = _router_fields(call, "VBR", opposite_router, opposite_region,
                                               call.account)["AccessPointId"]

    fast_link = p.bool("FastLinkMode")
    if fast_link and not (router_type == "VBR" and opposite_type == "VRouter" and role == model.INITIATING
                          and opposite_router):
        raise invalid_parameter("FastLinkMode", "true")
    # checked before anything is written: a failed call must leave no half-made link behind
    far_end = (_router_fields(call, "VRouter", opposite_router, opposite_region, opposite_owner or call.account)
               if fast_link else None)

    now = call.now()
    charge_type, end_time, order_id = _charge(p, now)
    interface_id = call.emulator.new_id("ri")
    record = {
        "RouterInterfaceId": interface_id,
        "Name": _check_name(p, "Name", 128) or "",
        "Description": _check_name(p, "Description", 256) or "",
        "Role": role,
        "RouterId": router_id,
        "RouterType": router_type,
        "VpcInstanceId": own["VpcInstanceId"],
        "AccessPointId": access_point,
        "Spec": spec,
        "Bandwidth": model.SPECS[spec],
        "Status": "Idle",
        "BusinessStatus": "Normal",
        "ChargeType": charge_type,
        "CreationTime": iso_seconds(now),
        "ConnectedTime": "",
        "EndTime": end_time,
        "OppositeRegionId": opposite_region,
        "OppositeRouterType": opposite_type or "",
        "OppositeRouterId": opposite_router,
        "OppositeInterfaceId": p.str("OppositeInterfaceId", default=""),
        "OppositeInterfaceOwnerId": opposite_owner,
        "OppositeAccessPointId": opposite_access_point,
        "HealthCheckSourceIp": p.str("HealthCheckSourceIp", default=""),
        "HealthCheckTargetIp": p.str("HealthCheckTargetIp", default=""),
        "HcRate": 2000,
        "HcThreshold": 8,
        "CrossBorder": call.region.startswith("cn-") != opposite_region.startswith("cn-"),
        "FastLinkMode": fast_link,
        "HasReservationData": "false",
        "Ipv6Status": "",
        "ResourceGroupId": resource_group(call),
        "Tags": {"Tags": tags},
        "_created": now,   # the listing order: CreationTime is only to the second
    }
    call.table(model.TABLE)[interface_id] = record
    if fast_link:
        _fast_link(call, record, far_end["VpcInstanceId"])
    answer = {"RouterInterfaceId": interface_id}
    if order_id:
        answer["OrderId"] = int(order_id)
    return idempotency.remember(call, answer)


def _fast_link(call, initiator, vpc_id):
    """FastLinkMode: the service itself creates the VPC's accepting end and connects the two."""
    owner = initiator["OppositeInterfaceOwnerId"] or call.account
    region = initiator["OppositeRegionId"]
    acceptor_id = call.emulator.new_id("ri")
    acceptor = {**initiator, "RouterInterfaceId": acceptor_id, "Name": "", "Description": "",
                "Role": model.ACCEPTING, "RouterType": "VRouter", "RouterId": initiator["OppositeRouterId"],
                "VpcInstanceId": vpc_id, "AccessPointId": "", "Spec": "Negative", "Bandwidth": 0,
                "OppositeRegionId": call.region, "OppositeRouterType": "VBR", "OppositeRouterId": initiator["RouterId"],
                "OppositeInterfaceId": initiator["RouterInterfaceId"],
                "OppositeInterfaceOwnerId": call.account if owner != call.account else "",
                "OppositeAccessPointId": initiator["AccessPointId"], "FastLinkMode": False, "Tags": {"Tags": []},
                "_created": call.now()}
    call.emulator.table(owner, region, model.TABLE)[acceptor_id] = acceptor
    initiator["OppositeInterfaceId"] = acceptor_id
    start_connecting(call, initiator, acceptor)


@action("Vpc", "DescribeRouterInterfaces")
def describe_router_interfaces(call):
    conditions = parse_filters(call.params, FILTER_KEYS)
    owners = conditions.pop("RouterInterfaceOwnerId", None)
    if owners and call.account not in owners:
        rows = []   # every interface listed here is the caller's own
    else:
        rows = creation_order([r for r in call.table(model.TABLE).values()
                               if matches(r, conditions) and has_tags(r["Tags"]["Tags"], call.params, "Tags")],
                              "RouterInterfaceId")
    page, info = by_page_number(rows, call.params, default_size=10, max_size=50)
    return {"RouterInterfaceSet": {"RouterInterfaceType": [model.render(call.emulator, call.account, r)
                                                           for r in page]}, **info}


@action("Vpc", "ModifyRouterInterfaceAttribute")
def modify_router_interface_attribute(call):
    p = call.params
    record = model.find(call, p.str("RouterInterfaceId", required=True))
    changes = {}
    for name, longest in (("Name", 128), ("Description", 256)):
        value = _check_name(p, name, longest)
        if value is not None:
            changes[name] = value
    opposite = {name: p.str(name) for name in ("OppositeInterfaceId", "OppositeRouterId", "OppositeRouterType",
                                               "OppositeInterfaceOwnerId") if name in p}
    if opposite:
        # the other end can be changed only before the link is made
        model.require_status(record, "Idle")
        if opposite.get("OppositeRouterType", record["OppositeRouterType"] or "VRouter") not in model.ROUTER_TYPES:
            raise invalid_parameter("OppositeRouterType", opposite["OppositeRouterType"])
        if record["RouterType"] == "VBR" and opposite.get("OppositeRouterType") == "VBR":
            raise invalid_parameter("OppositeRouterType", "VBR")
        changes.update(opposite)
    if p.bool("DeleteHealthCheckIp"):
        changes.update({"HealthCheckSourceIp": "", "HealthCheckTargetIp": ""})
    else:
        for name in ("HealthCheckSourceIp", "HealthCheckTargetIp"):
            if name in p:
                changes[name] = p.str(name)
    if "HcRate" in p:
        changes["HcRate"] = p.int("HcRate", minimum=1000, maximum=10000)
    if "HcThreshold" in p:
        changes["HcThreshold"] = p.int("HcThreshold", minimum=3, maximum=8)
    record.update(changes)
    return {}


def _routes_through(call, interface_id):
    """Route entries of the region whose next hop is this interface (emu-net's route_entries)."""
    found = []
    for entry in call.table("route_entries").values():
        hops = [entry.get("NextHopId")] + [h.get("NextHopId") for h in
                                           (entry.get("NextHops") or {}).get("NextHop", []) if isinstance(h, dict)]
        if interface_id in hops:
            found.append(entry)
    return found


@action("Vpc", "DeleteRouterInterface")
def delete_router_interface(call):
    record = model.find(call, call.params.str("RouterInterfaceId", required=True))
    model.require_status(record, "Idle", "Inactive")
    if _routes_through(call, record["RouterInterfaceId"]):
        raise ApiError(403, "DependencyViolation.RouteEntry",
                       f"The router interface \"{record['RouterInterfaceId']}\" is the next hop of route entries; "
                       "delete them first.")
    record["Status"] = "Deleting"
    call.schedule(model.TABLE, record["RouterInterfaceId"], [{"_delete": True}])
    return {}

"""ConnectRouterInterface, DeactivateRouterInterface and ActivateRouterInterface: the life of the
link between two router interfaces, over seconds as the real service shows it."""
from . import router_interface_model as model
from .errors import not_found
from .registry import action
from .timestamps import iso_seconds


def start_connecting(call, initiator, acceptor):
    """Both ends start connecting now and are Active one transition later."""
    owner = model.owner_of_opposite(initiator, call.account)
    region = initiator["OppositeRegionId"]
    connected_at = iso_seconds(call.now() + call.emulator.transition_seconds)
    initiator["Status"] = "Connecting"
    acceptor.update({
        "Status": "AcceptingConnecting",
        "OppositeInterfaceId": initiator["RouterInterfaceId"],
        "OppositeRouterId": acceptor.get("OppositeRouterId") or initiator["RouterId"],
        "OppositeRouterType": acceptor.get("OppositeRouterType") or initiator["RouterType"],
        "OppositeRegionId": call.region,
        "OppositeInterfaceOwnerId": call.account if owner != call.account else "",
        "OppositeAccessPointId": acceptor.get("OppositeAccessPointId") or initiator["AccessPointId"],
    })
    done = {"Status": "Active", "ConnectedTime": connected_at}
    call.schedule(model.TABLE, initiator["RouterInterfaceId"], [done])
    model.schedule_elsewhere(call.emulator, owner, region, acceptor, [done])


def _check_ends_fit(call, initiator, acceptor):
    """The accepting end must be idle, accepting, and configured for this initiator (or not yet
    for anyone), on the router the initiator names."""
    acceptor_id = acceptor["RouterInterfaceId"]
    if acceptor["Role"] != model.ACCEPTING:
        raise model.link_error("InvalidOppositeInterface.Role",
                               f"The opposite router interface \"{acceptor_id}\" is not an accepting side.")
    model.require_status(acceptor, "Idle")
    if acceptor.get("OppositeInterfaceId") not in ("", initiator["RouterInterfaceId"]):
        raise model.link_error("InvalidOppositeInterface.Mismatch",
                               f"The opposite router interface \"{acceptor_id}\" is configured for another peer.")
    if initiator.get("OppositeRouterId") and initiator["OppositeRouterId"] != acceptor["RouterId"]:
        raise model.link_error("InvalidOppositeRouterId.Mismatch",
                               f"The opposite router interface \"{acceptor_id}\" is not on router "
                               f"\"{initiator['OppositeRouterId']}\".")
    if acceptor.get("OppositeRouterId") and acceptor["OppositeRouterId"] != initiator["RouterId"]:
        raise model.link_error("InvalidOppositeRouterId.Mismatch",
                               f"The opposite router interface \"{acceptor_id}\" expects router "
                               f"\"{acceptor['OppositeRouterId']}\".")
    if initiator["RouterType"] == "VBR" and acceptor["RouterType"] == "VBR":
        raise model.link_error("InvalidOppositeRouterType", "Two virtual border routers cannot be linked.")


@action("Vpc", "ConnectRouterInterface")
def connect_router_interface(call):
    initiator = model.find(call, call.params.str("RouterInterfaceId", required=True))
    if initiator["Role"] != model.INITIATING:
        raise model.link_error("OperationFailed.NotInitiatingSide",
                               "Only the initiating side of a router interface pair can connect.")
    model.require_status(initiator, "Idle")
    if not initiator.get("OppositeInterfaceId"):
        raise model.link_error("MissingParameter.OppositeInterfaceId",
                               "Set the opposite router interface (ModifyRouterInterfaceAttribute) before connecting.")
    acceptor = model.opposite_of(call.emulator, call.account, initiator)
    if acceptor is None:
        raise not_found("InvalidOppositeInterfaceId.NotFound", "OppositeInterfaceId", initiator["OppositeInterfaceId"])
    _check_ends_fit(call, initiator, acceptor)
    initiator["OppositeRouterId"] = initiator.get("OppositeRouterId") or acceptor["RouterId"]
    initiator["OppositeRouterType"] = initiator.get("OppositeRouterType") or acceptor["RouterType"]
    initiator["OppositeAccessPointId"] = initiator.get("OppositeAccessPointId") or acceptor["AccessPointId"]
    start_connecting(call, initiator, acceptor)
    return {}


@action("Vpc", "DeactivateRouterInterface")
def deactivate_router_interface(call):
    record = model.find(call, call.params.str("RouterInterfaceId", required=True))
    model.require_status(record, "Active")
    record["Status"] = "Deactivating"
    call.schedule(model.TABLE, record["RouterInterfaceId"], [{"Status": "Inactive"}])
    return {}


@action("Vpc", "ActivateRouterInterface")
def activate_router_interface(call):
    record = model.find(call, call.params.str("RouterInterfaceId", required=True))
    model.require_status(record, "Inactive")
    opposite = model.opposite_of(call.emulator, call.account, record)
    if opposite is None or opposite["Status"] in ("Deleting",):
        raise not_found("InvalidOppositeInterfaceId.NotFound", "OppositeInterfaceId",
                        record.get("OppositeInterfaceId") or "")
    record["Status"] = "Activating"
    call.schedule(model.TABLE, record["RouterInterfaceId"], [{"Status": "Active"}])
    return {}

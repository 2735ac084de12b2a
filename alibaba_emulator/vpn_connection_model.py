"""IPsec-VPN connection records and how their negotiation moves. There is no device on the other
end, so the emulated peer always agrees with the settings it is given: a connection whose settings
take effect immediately (EffectImmediately) goes ike_sa_not_established → ike_sa_established →
ipsec_sa_established over seconds; otherwise it waits for traffic that never comes and stays
ike_sa_not_established, as a real connection with an idle peer does. Any change of the
negotiation settings starts over."""
from .errors import not_found
from .state import public

TABLE = "vpn_connections"
NOT_ESTABLISHED = "ike_sa_not_established"
PHASE_ONE_DONE = "ike_sa_established"
ESTABLISHED = "ipsec_sa_established"


def find(call, connection_id):
    record = call.table(TABLE).get(connection_id)
    if record is None:
        raise not_found("InvalidVpnConnectionInstanceId.NotFound", "VpnConnectionId", connection_id)
    return record


def _with_tunnel_status(record, status):
    tunnels = record.get("TunnelOptionsSpecification", {}).get("TunnelOptions", [])
    return {"TunnelOptions": [{**tunnel, "Status": status} for tunnel in tunnels]}


def negotiate(call, record):
    """(Re)start the negotiation of a connection after it was created or its settings changed."""
    record["Status"] = NOT_ESTABLISHED
    record["TunnelOptionsSpecification"] = _with_tunnel_status(record, NOT_ESTABLISHED)
    if not record["EffectImmediately"]:
        call.emulator.cancel_transitions(record)
        return
    steps = []
    for status in (PHASE_ONE_DONE, ESTABLISHED):
        step = {"Status": status}
        if record["TunnelOptionsSpecification"]["TunnelOptions"]:
            step["TunnelOptionsSpecification"] = _with_tunnel_status(record, status)
        steps.append(step)
    bgp = record.get("VpnBgpConfig", {})
    if bgp.get("EnableBgp") == "true":
        steps[-1]["VpnBgpConfig"] = {**bgp, "Status": "success"}
    call.schedule(TABLE, record["VpnConnectionId"], steps)


def render(record, tags_key="Tags"):
    """The record as DescribeVpnConnection answers it; DescribeVpnConnections names the tags `Tag`."""
    answer = public(record)
    if tags_key != "Tags":
        answer[tags_key] = answer.pop("Tags")
    return answer

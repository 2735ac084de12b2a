"""A host that connects (add or reconnect) gets the bridges of every L2 network attached to its
cluster; a host that is deleted loses them again, with its DHCP servers."""
import logging

from apps.core.errors import CloudPortalError

from .. import dhcp
from ..models import L2Network, L3Network

log = logging.getLogger(__name__)


def realize_l2_networks(host):
    for l2 in L2Network.objects.filter(clusters=host.cluster_id).order_by("created_at", "id"):
        try:
            dhcp.ensure_bridge(host, l2)
        except CloudPortalError as exc:
            raise CloudPortalError(
                f"host {host.name} cannot realize L2 network {l2.name} (bridge {l2.bridge_name} on "
                f"{l2.physical_interface}): {exc.message}", code=exc.code, status=exc.status,
                details={**exc.details, "l2_network_uuid": str(l2.uuid)}) from None


def remove_host_networking(host):
    """Deleting a host (or its cluster or zone): its DHCP servers (dnsmasq, namespace, veth) and the
    bridges its agent created for the portal go, before the agent is undeployed. Best effort: a host
    that cannot be reached is deleted anyway and ``network.left`` names what stays there and why;
    bridges that were on the host before the portal asked for them stay (``network.kept``)."""
    from apps.infra import agent
    from apps.infra.models import HostStatus

    l2s = list(L2Network.objects.filter(clusters=host.cluster_id).order_by("created_at", "id"))
    if host.status != HostStatus.CONNECTED:
        return {"network": _left(host, l2s, "HOST_DISCONNECTED", f"host {host.name} is {host.status}")}
    try:
        answer = agent.call(host, "/v1/network/cleanup", {})
    except CloudPortalError as exc:
        log.warning("host %s: its bridges and DHCP servers could not be removed: %s", host.name, exc.message)
        return {"network": _left(host, l2s, exc.code, exc.message)}
    ours = {l2.bridge_name for l2 in l2s}
    kept = [{"bridge": b, "reason": "it was on the host before the portal asked for it"}
            for b in answer.get("bridges_left", []) if b in ours]
    outcome = {"removed": True, "dhcp_deleted": answer.get("dhcp_deleted", []),
               "bridges_deleted": answer.get("bridges_deleted", [])}
    if kept:
        outcome["kept"] = kept
    return {"network": outcome}


def _left(host, l2s, code, message):
    """What the portal may have made on an unreachable host: its L2s' bridges, the DHCP servers
    (namespace ``cpdhcp-<l3 uuid>``) of their L3s."""
    from hostagent.backends.network_base import dhcp_names

    l3s = L3Network.objects.filter(l2_network__in=l2s, dhcp=True).order_by("created_at", "id")
    return {"removed": False, "code": code,
            "message": f"{message}: its bridges and DHCP servers (dnsmasq) stay on it; remove them by hand "
                       "or delete the host when it answers again",
            "left": {"bridges": [l2.bridge_name for l2 in l2s],
                     "dhcp_namespaces": [dhcp_names(str(l3.uuid))[0] for l3 in l3s]}}


def register():
    from apps.core.cascade import before_delete
    from apps.infra.flows.hosts import HOST_CONNECT_HOOKS
    from apps.infra.models import Host

    if realize_l2_networks not in HOST_CONNECT_HOOKS:
        HOST_CONNECT_HOOKS.append(realize_l2_networks)
    before_delete(Host, remove_host_networking)

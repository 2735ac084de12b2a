"""What the portal asks hosts to do for L2/L3 networks (agent paths: docs/agent-protocol.md, Network)."""
from apps.core.errors import CloudPortalError
from apps.infra import agent
from apps.infra.models import Host, HostStatus

from . import ipam
from .globalconfig import DHCP_LEASE_TIME
from .models import L3Network

# how long each call may take: host/agent.timeout.network (apps.compute.agent.PATH_TIMEOUTS)


def connected_hosts(l2, clusters=None):
    """Connected hosts of the clusters ``l2`` is attached to (or of ``clusters``)."""
    clusters = l2.clusters.all() if clusters is None else clusters
    return list(Host.objects.filter(cluster__in=clusters, status=HostStatus.CONNECTED).order_by("created_at", "id"))


def host_error(host, what, exc):
    """A CloudPortalError that names the host it happened on."""
    return CloudPortalError(f"{what} failed on host {host.name} ({host.uuid}): {exc.message}", code=exc.code,
                            status=exc.status, details={**exc.details, "host_uuid": str(host.uuid),
                                                        "host_name": host.name})


def ensure_bridge(host, l2):
    return agent.call(host, "/v1/network/bridge/ensure",
                      {"bridge": l2.bridge_name, "physical_interface": l2.physical_interface})


def delete_bridge(host, l2):
    return agent.call(host, "/v1/network/bridge/delete",
                      {"bridge": l2.bridge_name, "physical_interface": l2.physical_interface})


def dhcp_body(l3, entries, server_ip=None, subnet=None):
    """``server_ip`` and ``subnet`` ((netmask, gateway), as every range of the L3 has them): when the
    caller knows them; else read (the server address allocated first if the L3 has none)."""
    netmask, gateway = subnet or l3.subnet()
    if server_ip is None:
        server = ipam.ensure_dhcp_server_ip(l3)
        server_ip = server.ip if server else None
    return {"l3_uuid": str(l3.uuid), "bridge": l3.l2_network.bridge_name, "server_ip": server_ip,
            "netmask": netmask, "gateway": gateway, "dns": list(l3.dns or []),
            "lease_time": int(DHCP_LEASE_TIME.value(resource=l3)), "entries": entries}


def apply_dhcp(host, l3, entries, server_ip=None, subnet=None):
    """Make ``host`` serve DHCP for ``l3`` (bridge, namespace, dnsmasq) with ``entries``
    ([{mac, ip, hostname?}], added to or replacing what it has); ``server_ip``, ``subnet``: dhcp_body.
    One agent call: the agent ensures the L2's bridge first (``physical_interface``); an agent that
    does not know that field answers BRIDGE_NOT_FOUND when the bridge is missing, and then the
    bridge is ensured on its own and the DHCP applied again."""
    if isinstance(l3, str):
        l3 = L3Network.objects.select_related("l2_network").get(uuid=l3)
    body = {**dhcp_body(l3, entries, server_ip, subnet), "physical_interface": l3.l2_network.physical_interface}
    try:
        return agent.call(host, "/v1/dhcp/apply", body)
    except CloudPortalError as exc:
        if exc.code != "BRIDGE_NOT_FOUND":
            raise
    ensure_bridge(host, l3.l2_network)
    return agent.call(host, "/v1/dhcp/apply", body)


def release_dhcp(host, l3_uuid, macs):
    return agent.call(host, "/v1/dhcp/release", {"l3_uuid": str(l3_uuid), "macs": list(macs)})


def delete_dhcp(host, l3_uuid):
    return agent.call(host, "/v1/dhcp/delete", {"l3_uuid": str(l3_uuid)})

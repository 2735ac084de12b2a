"""A host that connects (add or reconnect) gets the bridges of every L2 network attached to its cluster."""
from apps.core.errors import CloudPortalError

from .. import dhcp
from ..models import L2Network


def realize_l2_networks(host):
    for l2 in L2Network.objects.filter(clusters=host.cluster_id).order_by("created_at", "id"):
        try:
            dhcp.ensure_bridge(host, l2)
        except CloudPortalError as exc:
            raise CloudPortalError(
                f"host {host.name} cannot realize L2 network {l2.name} (bridge {l2.bridge_name} on "
                f"{l2.physical_interface}): {exc.message}", code=exc.code, status=exc.status,
                details={**exc.details, "l2_network_uuid": str(l2.uuid)}) from None


def register():
    from apps.compute.flows.hosts import HOST_CONNECT_HOOKS

    if realize_l2_networks not in HOST_CONNECT_HOOKS:
        HOST_CONNECT_HOOKS.append(realize_l2_networks)

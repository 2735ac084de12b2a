"""Network steps of the VM create flow, and helpers for the rest of a VM's life.

Context the steps read (``ctx.<key>`` set by an earlier step, else ``ctx.args[<key>]``):

- ``l3_network_uuids``: [str], the L3 network of each NIC, in NIC order (one NIC per L3)
- ``static_ips``: {l3_uuid: ip}, optional
- ``vm_uuid``: str, the owner of the addresses
- ``hostname``: str, optional (sent to the DHCP server when it is a DNS label)
- ``host_uuid`` (str) or ``host`` (a compute Host, its uuid, or {"uuid": ...}): ApplyDhcp only

and write:

- ``nics``: [{"l3_network_uuid", "ip", "mac", "netmask", "gateway", "bridge", "used_ip_uuid",
  "device_id"}] (AllocateNicIps)

(ApplyDhcp writes nothing: its rollback releases every entry the NICs could have on the host.)

Rows several steps read are loaded once per job run through ``ctx.cached`` (in memory only):
``("l3", uuid)`` an L3 with its L2 and its DHCP server address, ``("l2_clusters", l2 pk)`` the
clusters an L2 is attached to, ``("dhcp_server_ip", l3 uuid)``, ``("used_ip", uuid)`` a NIC's
UsedIp. Rollbacks read only the persisted context.

Errors: NO_AVAILABLE_IP (422), IP_IN_USE (409), IP_NOT_IN_RANGE / IP_RESERVED (400),
L3_NETWORK_NOT_FOUND (404), INVALID_ARGUMENT (400, duplicate L3 or a static IP for an L3 not in the list),
L2_NETWORK_NOT_ATTACHED (409: the host's cluster does not reach the L3), and the agent's errors naming
the host (HOST_AGENT_UNREACHABLE 409, BRIDGE_NOT_FOUND, INTERFACE_NOT_FOUND, ...).
"""
import re
from collections import OrderedDict

from apps.core.errors import CloudPortalError, InvalidArgument, NotFound
from apps.core.flows import DbStep, RemoteStep, ctx_cached, ctx_value
from apps.infra.flow_context import ctx_host
from apps.infra.models import Cluster, Host

from .. import dhcp, ipam
from ..errors import L2NotAttached
from ..models import L2Network, L3Network, UsedIp, UsedIpOwner

_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


_get = ctx_value


def _set(ctx, key, value):
    if isinstance(ctx, dict):
        ctx[key] = value
    else:
        setattr(ctx, key, value)


def _l3(uuid, ctx=None):
    """The L3 with its L2 and ``server_address`` (its DHCP server's address, None when it has none
    yet), once per job run with a flow ``ctx``; 404 L3_NETWORK_NOT_FOUND."""
    def load():
        found = L3Network.objects.kept_with_dhcp_server(str(uuid))
        if found is None:
            raise NotFound(f"L3 network {uuid} not found", code="L3_NETWORK_NOT_FOUND",
                           details={"l3_network_uuid": uuid})
        return found

    return ctx_cached(ctx, ("l3", str(uuid)), load)


def _dhcp_server_ip(l3, ctx=None):
    """The DHCP server address of ``l3``, allocated first when it has none (None: no ranges)."""
    def load():
        if getattr(l3, "server_address", None):
            return l3.server_address
        server = ipam.ensure_dhcp_server_ip(l3)
        return server.ip if server else None

    return ctx_cached(ctx, ("dhcp_server_ip", str(l3.uuid)), load)


def _l2_cluster_ids(l2, ctx=None):
    """Primary keys of the clusters ``l2`` is attached to, once per job run with a flow ``ctx``."""
    return ctx_cached(ctx, ("l2_clusters", l2.pk), lambda: L2Network.objects.kept_cluster_ids(l2.pk))


def _requested(ctx):
    l3_uuids = [str(u) for u in (_get(ctx, "l3_network_uuids") or [])]
    if len(set(l3_uuids)) != len(l3_uuids):
        raise InvalidArgument("a VM has at most one NIC per L3 network", details={"l3_network_uuids": l3_uuids})
    static_ips = {str(k): v for k, v in (_get(ctx, "static_ips") or {}).items()}
    stray = sorted(set(static_ips) - set(l3_uuids))
    if stray:
        raise InvalidArgument(f"static IP for L3 network {stray[0]}, which is not one of the VM's networks",
                              details={"static_ips": stray})
    return l3_uuids, static_ips


_host = ctx_host


def nic_for(used_ip, l3, device_id=0):
    return {"l3_network_uuid": str(l3.uuid), "ip": used_ip.ip, "mac": used_ip.mac,
            "netmask": used_ip.ip_range.netmask, "gateway": used_ip.ip_range.gateway,
            "bridge": l3.l2_network.bridge_name, "used_ip_uuid": str(used_ip.uuid), "device_id": device_id}


def allocate_nic_ips(vm_uuid, l3_network_uuids, static_ips=None, ctx=None):
    """One address and a new unique MAC per L3 (for a DHCP L3, its DHCP server address first if it
    has none); all or nothing. Returns the ``nics`` list described above."""
    static_ips = static_ips or {}
    nics = []
    try:
        for device_id, l3_uuid in enumerate(l3_network_uuids):
            l3 = _l3(l3_uuid, ctx)
            if l3.dhcp:
                _dhcp_server_ip(l3, ctx)
            used = ipam.allocate(l3, owner_type=UsedIpOwner.VM_NIC, owner_uuid=vm_uuid,
                                 ip=static_ips.get(l3_uuid), with_mac=True)
            ctx_cached(ctx, ("used_ip", str(used.uuid)), lambda: used)
            nics.append(nic_for(used, l3, device_id))
    except Exception:
        ipam.release([n["used_ip_uuid"] for n in nics])
        raise
    return nics


class AllocateNicIps(DbStep):
    def run(self, ctx):
        l3_uuids, static_ips = _requested(ctx)
        existing = _get(ctx, "nics")
        if existing and [n["l3_network_uuid"] for n in existing] == l3_uuids:
            return  # ran already (a retried step)
        _set(ctx, "nics", allocate_nic_ips(_get(ctx, "vm_uuid"), l3_uuids, static_ips, ctx))

    def rollback(self, ctx):
        nics = _get(ctx, "nics")
        if nics:
            ipam.release([n["used_ip_uuid"] for n in nics])
        elif _get(ctx, "vm_uuid"):  # interrupted before it recorded anything: what it may have taken
            ipam.release(owner_uuid=_get(ctx, "vm_uuid"), l3_network_uuids=_get(ctx, "l3_network_uuids") or [])


def _dhcp_groups(nics):
    groups = OrderedDict()
    for nic in nics:
        groups.setdefault(nic["l3_network_uuid"], []).append(nic)
    return groups


class ApplyDhcp(RemoteStep):
    """The host serves DHCP for the VM's NICs: bridge, namespace and dnsmasq ensured, entries added.

    Its rollback releases every entry the NICs could have on the host (releasing a MAC that is not
    there is a no-op on the agent), so it needs nothing of what ``run`` did."""

    def run(self, ctx):
        host = _host(ctx)
        hostname = _get(ctx, "hostname")
        hostname = hostname if isinstance(hostname, str) and _LABEL.match(hostname) else None
        for l3_uuid, nics in _dhcp_groups(_get(ctx, "nics") or []).items():
            l3 = _l3(l3_uuid, ctx)
            if host.cluster_id not in _l2_cluster_ids(l3.l2_network, ctx):
                raise L2NotAttached(
                    f"L3 network {l3.name} is on L2 network {l3.l2_network.name}, which is not attached to "
                    f"cluster {host.cluster.name} of host {host.name}",
                    details={"l3_network_uuid": l3_uuid, "host_uuid": str(host.uuid)})
            if not l3.dhcp:
                continue
            entries = [{"mac": n["mac"], "ip": n["ip"], "hostname": hostname} for n in nics]
            subnet = (nics[0].get("netmask"), nics[0].get("gateway"))   # every range of an L3 has the same
            try:
                dhcp.apply_dhcp(host, l3, entries, server_ip=_dhcp_server_ip(l3, ctx),
                                subnet=subnet if all(subnet) else None)
            except CloudPortalError as exc:
                raise dhcp.host_error(host, f"DHCP for L3 network {l3.name}", exc) from None

    def rollback(self, ctx):
        failures = []
        for item in _planned_dhcp(ctx):
            host = Host.objects.filter(uuid=item["host_uuid"]).first()
            if host is None:
                continue
            try:
                dhcp.release_dhcp(host, item["l3_network_uuid"], item["macs"])
            except CloudPortalError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]


def _planned_dhcp(ctx):
    """[{"host_uuid", "l3_network_uuid", "macs"}]: the entries ApplyDhcp adds for the NICs on the
    host, by DHCP L3 (an L3 that is gone took its DHCP servers with it)."""
    nics = _get(ctx, "nics") or []
    if not nics or not (_get(ctx, "host_uuid") or _get(ctx, "host")):
        return []
    try:
        host_uuid = str(_host(ctx).uuid)
    except NotFound:
        return []  # the host is gone, and its DHCP servers with it
    planned = []
    for l3_uuid, group in _dhcp_groups(nics).items():
        try:
            if not _l3(l3_uuid, ctx).dhcp:
                continue
        except NotFound:
            continue
        planned.append({"host_uuid": host_uuid, "l3_network_uuid": l3_uuid, "macs": [n["mac"] for n in group]})
    return planned


# --- plain functions for the rest of a VM's life -------------------------------------------


def release_nic_ips(vm_uuid=None, used_ip_uuids=None, nics=None):
    """Give a VM's addresses (and with them its MACs) back: all of ``vm_uuid``, or the given
    UsedIp uuids / ``nics``. Idempotent; returns how many were released."""
    if nics is not None:
        used_ip_uuids = [n["used_ip_uuid"] for n in nics]
    if used_ip_uuids is not None:
        return ipam.release(used_ip_uuids)
    if vm_uuid is not None:
        return ipam.release(owner_uuid=vm_uuid)
    return 0


def release_dhcp_entries(host, nics):
    """Remove the NICs' entries from the host's DHCP servers (a VM expunged or moved away)."""
    for l3_uuid, group in _dhcp_groups(nics).items():
        dhcp.release_dhcp(host, l3_uuid, [n["mac"] for n in group])


def nics_of(vm_uuid):
    """The ``nics`` list of a VM, rebuilt from the database (for reconnect, migrate, expunge)."""
    rows = UsedIp.objects.filter(owner_uuid=vm_uuid, owner_type=UsedIpOwner.VM_NIC).select_related(
        "ip_range", "l3_network__l2_network").order_by("created_at", "id")
    return [nic_for(row, row.l3_network, i) for i, row in enumerate(rows)]


def plan_nic_ips(l3_network_uuids, static_ips=None):
    """Dry run: [{"l3_network_uuid", "ip"}] that would be handed out now, reserving nothing (for the
    random strategy, one candidate). Raises what AllocateNicIps would (NO_AVAILABLE_IP, IP_IN_USE, ...)."""
    static_ips = {str(k): v for k, v in (static_ips or {}).items()}
    return [{"l3_network_uuid": str(u), "ip": ipam.plan(_l3(str(u)), static_ips.get(str(u)))}
            for u in l3_network_uuids]


def attached_clusters(l3_network_uuids):
    """The clusters from which every given L3 is reachable (attached to its L2), as a queryset:
    the allocator's filter uses it as a subquery, without a round trip of its own. No L3s: every
    cluster."""
    clusters = Cluster.objects.all()
    for l3_uuid in l3_network_uuids:
        clusters = clusters.filter(l2_networks__l3_networks__uuid=l3_uuid)
    return clusters


def cluster_ids_for_l3_networks(l3_network_uuids, ctx=None):
    """Primary keys of ``attached_clusters``, from the L3s and their L2s' clusters as a flow's
    ``ctx`` caches them (AllocateNicIps reads the same); L3_NETWORK_NOT_FOUND for an L3 that does
    not exist. The allocator filters on these ids: a list, not a subquery MariaDB would flatten
    into a join that reads every host of the clusters."""
    reached = None
    for l3_uuid in l3_network_uuids:
        clusters = _l2_cluster_ids(_l3(str(l3_uuid), ctx).l2_network, ctx)
        reached = set(clusters) if reached is None else reached & clusters
    return sorted(reached) if reached is not None else None


def clusters_for_l3_networks(l3_network_uuids):
    """Uuids of ``attached_clusters``; L3_NETWORK_NOT_FOUND for an L3 that does not exist."""
    for l3_uuid in l3_network_uuids:
        _l3(str(l3_uuid))
    return [str(u) for u in attached_clusters(l3_network_uuids).values_list("uuid", flat=True)]

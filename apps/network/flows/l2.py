"""Attaching an L2 network to a cluster (bridges on its hosts), detaching it, deleting it.

ATTACH_L2 = CheckAttachable, RealizeBridges, RecordAttachment. RealizeBridges asks every
connected host of the cluster for ``br_<interface>``; a host that fails fails the attach (the
error names it) and its rollback deletes the bridges this job created on the other hosts.
"""
import logging

from apps.core.errors import CloudPortalError, Conflict
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.infra.models import Cluster, Host

from .. import dhcp
from ..models import L2Network

log = logging.getLogger(__name__)


def _l2(ctx):
    return L2Network.objects.get(uuid=ctx.args["l2_network_uuid"])


def _cluster(ctx):
    return Cluster.objects.get(uuid=ctx.args["cluster_uuid"])


class CheckAttachable(DbStep, NoRollback):
    def run(self, ctx):
        l2, cluster = _l2(ctx), _cluster(ctx)
        if cluster.zone_id != l2.zone_id:
            raise Conflict(f"cluster {cluster.name} is in another zone than L2 network {l2.name}",
                           code="ZONE_MISMATCH", details={"cluster_uuid": str(cluster.uuid)})
        if l2.clusters.filter(pk=cluster.pk).exists():
            raise Conflict(f"L2 network {l2.name} is already attached to cluster {cluster.name}",
                           code="L2_NETWORK_ALREADY_ATTACHED", details={"cluster_uuid": str(cluster.uuid)})
        clash = L2Network.objects.filter(clusters=cluster, physical_interface=l2.physical_interface).first()
        if clash is not None:
            raise Conflict(f"L2 network {clash.name} on interface {l2.physical_interface} is already attached to "
                           f"cluster {cluster.name}", code="DUPLICATE_PHYSICAL_INTERFACE",
                           details={"l2_network_uuid": str(clash.uuid)})


class RealizeBridges(RemoteStep):
    """br_<interface> on every connected host of the cluster (idempotent on the agent)."""

    def run(self, ctx):
        l2, cluster = _l2(ctx), _cluster(ctx)
        created = ctx.get("bridges_created", [])
        for host in dhcp.connected_hosts(l2, clusters=[cluster]):
            try:
                answer = dhcp.ensure_bridge(host, l2)
            except CloudPortalError as exc:
                ctx.bridges_created = created   # what the rollback deletes
                raise dhcp.host_error(host, f"creating bridge {l2.bridge_name}", exc) from None
            if answer.get("created") and str(host.uuid) not in created:
                created.append(str(host.uuid))
        ctx.bridges_created = created

    def rollback(self, ctx):
        l2 = _l2(ctx)
        for host in Host.objects.filter(uuid__in=ctx.get("bridges_created", [])):
            try:
                dhcp.delete_bridge(host, l2)
            except CloudPortalError as exc:
                log.warning("could not delete bridge %s on host %s: %s", l2.bridge_name, host.name, exc.message)


class RecordAttachment(DbStep):
    def run(self, ctx):
        _l2(ctx).clusters.add(_cluster(ctx))
        ctx.result = {"l2_network_uuid": ctx.args["l2_network_uuid"], "cluster_uuid": ctx.args["cluster_uuid"],
                      "bridge": _l2(ctx).bridge_name, "bridges_created_on": ctx.get("bridges_created", [])}

    def rollback(self, ctx):
        _l2(ctx).clusters.remove(_cluster(ctx))


ATTACH_L2 = Flow("attach-l2-network", [CheckAttachable, RealizeBridges, RecordAttachment],
                 action="attach-l2-network")


class CheckAttached(DbStep, NoRollback):
    def run(self, ctx):
        l2, cluster = _l2(ctx), _cluster(ctx)
        if not l2.clusters.filter(pk=cluster.pk).exists():
            raise Conflict(f"L2 network {l2.name} is not attached to cluster {cluster.name}",
                           code="L2_NETWORK_NOT_ATTACHED", details={"cluster_uuid": str(cluster.uuid)})


class RemoveAttachment(DbStep):
    def run(self, ctx):
        _l2(ctx).clusters.remove(_cluster(ctx))

    def rollback(self, ctx):
        _l2(ctx).clusters.add(_cluster(ctx))


class DeleteBridges(RemoteStep):
    """Delete br_<interface> (and the DHCP servers on it) on the cluster's connected hosts; a host that
    fails fails the detach, and the rollback makes the bridges deleted so far again."""

    def run(self, ctx):
        l2, cluster = _l2(ctx), _cluster(ctx)
        deleted = []
        for host in dhcp.connected_hosts(l2, clusters=[cluster]):
            try:
                dhcp.delete_bridge(host, l2)
            except CloudPortalError as exc:
                ctx.bridges_deleted = deleted   # what the rollback makes again
                raise dhcp.host_error(host, f"deleting bridge {l2.bridge_name}", exc) from None
            deleted.append(str(host.uuid))
        ctx.bridges_deleted = deleted
        ctx.result = {"l2_network_uuid": str(l2.uuid), "cluster_uuid": str(cluster.uuid),
                      "bridges_deleted_on": deleted}

    def rollback(self, ctx):
        l2 = _l2(ctx)
        for host in Host.objects.filter(uuid__in=ctx.get("bridges_deleted", [])):
            try:
                dhcp.ensure_bridge(host, l2)
            except CloudPortalError as exc:
                log.warning("could not re-create bridge %s on host %s: %s", l2.bridge_name, host.name, exc.message)


DETACH_L2 = Flow("detach-l2-network", [CheckAttached, RemoveAttachment, DeleteBridges], action="detach-l2-network")


class CleanUpHosts(RemoteStep, NoRollback):
    """Deleting an L2 (or L3) network: remove its bridges (or DHCP servers) from the hosts, best effort:
    an unreachable host does not stop the delete; ``result.cleanup`` lists what was left."""

    def run(self, ctx):
        from ..models import L3Network

        left = []
        if ctx.args["resource_type"] == "L2Network":
            l2 = L2Network.objects.filter(uuid=ctx.args["uuid"]).first()
            work = [(h, "bridge", lambda h, l2=l2: dhcp.delete_bridge(h, l2))
                    for h in (dhcp.connected_hosts(l2) if l2 else [])]
        else:
            l3 = L3Network.objects.select_related("l2_network").filter(uuid=ctx.args["uuid"]).first()
            work = [(h, "dhcp", lambda h, l3=l3: dhcp.delete_dhcp(h, l3.uuid))
                    for h in (dhcp.connected_hosts(l3.l2_network) if l3 and l3.dhcp else [])]
        for host, what, call in work:
            try:
                call(host)
            except CloudPortalError as exc:
                log.warning("host %s: could not remove the %s: %s", host.name, what, exc.message)
                left.append({"host_uuid": str(host.uuid), "what": what, "code": exc.code, "message": exc.message})
        ctx.cleanup = {"left": left}


class ReportCleanUp(DbStep, NoRollback):
    def run(self, ctx):
        ctx.result = {**(ctx.get("result") or {}), "cleanup": ctx.get("cleanup")}


def _delete_flow(name):
    from apps.core.cascade import ClaimChildren, DeleteChildren, DeleteResource

    return Flow(name, [ClaimChildren, CleanUpHosts, DeleteChildren, DeleteResource, ReportCleanUp], action="delete")


DELETE_L2 = _delete_flow("delete-l2-network")

"""Attaching local primary storage to a cluster (and detaching it).

ATTACH: RecordAttachment (the cluster joins the storage's clusters; undo removes it) ->
InitHostCapacity (every Connected host of the cluster reports the path's capacity and gets its
LocalStorageHostRef; undo deletes the rows this job created). A host whose agent fails fails the
attach, as in ZStack.
"""
from apps.core.errors import Conflict
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.infra.models import Cluster

from .. import cache
from ..capacity import connected_hosts, refresh_host_ref
from ..models import LocalStorageHostRef, PrimaryStorage, Volume, VolumeStatus


def _ps(ctx):
    return PrimaryStorage.objects.get(uuid=ctx.args["primary_storage_uuid"])


def _cluster(ctx):
    return Cluster.objects.get(uuid=ctx.args["cluster_uuid"])


class RecordAttachment(DbStep):
    def run(self, ctx):
        ps, cluster = _ps(ctx), _cluster(ctx)
        ctx.newly_attached = not ps.clusters.filter(pk=cluster.pk).exists()
        ps.clusters.add(cluster)

    def rollback(self, ctx):
        if ctx.get("newly_attached"):
            _ps(ctx).clusters.remove(_cluster(ctx))


class InitHostCapacity(RemoteStep):
    def run(self, ctx):
        ps = _ps(ctx)
        created = ctx.get("created_refs", [])
        hosts = []
        for host in connected_hosts(_cluster(ctx)):
            ref, new = refresh_host_ref(ps, host)
            if new:
                created.append(ref.pk)
                ctx.created_refs = created
            hosts.append({"host_uuid": str(host.uuid), "total_capacity": ref.total_capacity,
                          "available_capacity": ref.available_capacity})
        ctx.result = {"primary_storage_uuid": str(ps.uuid), "cluster_uuid": ctx.args["cluster_uuid"], "hosts": hosts}

    def rollback(self, ctx):
        LocalStorageHostRef.objects.filter(pk__in=ctx.get("created_refs", []), used_capacity=0).delete()


ATTACH_PRIMARY_STORAGE = Flow("attach-primary-storage", [RecordAttachment, InitHostCapacity],
                              action="attach-primary-storage")


class DetachFromCluster(RemoteStep, NoRollback):
    """Refused while volumes live on this storage on the cluster's hosts; else the cluster leaves, its
    hosts' capacity rows go, and so do the image caches no volume is built on (files and rows)."""

    def run(self, ctx):
        ps, cluster = _ps(ctx), _cluster(ctx)
        in_use = Volume.objects.filter(primary_storage=ps, host__cluster=cluster).exclude(
            status=VolumeStatus.DELETED).count()
        if in_use:
            raise Conflict(f"{in_use} volume(s) of cluster {cluster.name} live on primary storage {ps.name}",
                           code="PRIMARY_STORAGE_IN_USE", details={"volumes": in_use})
        ps.clusters.remove(cluster)
        LocalStorageHostRef.objects.filter(primary_storage=ps, host__cluster=cluster).delete()
        removed = cache.remove_unused(ps.image_caches.filter(host__cluster=cluster))
        ctx.result = {"primary_storage_uuid": str(ps.uuid), "cluster_uuid": str(cluster.uuid), **(removed or {})}


DETACH_PRIMARY_STORAGE = Flow("detach-primary-storage", [DetachFromCluster], action="detach-primary-storage")

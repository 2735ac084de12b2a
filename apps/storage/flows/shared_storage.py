"""Attaching shared primary storage (SharedMountPoint, NFS) to a cluster, and detaching it.

ATTACH: RecordAttachment (the cluster joins the storage's clusters; undo removes it) ->
MountOnHosts (every Connected host of the cluster mounts it; undo unmounts what this job mounted)
-> ReadCapacity (a host's statvfs of the mount gives the storage's total and available bytes)
-> TellHosts (apps above storage learn of it per host: compute's HA heartbeat starts there).
A host whose agent fails fails the attach, as for local storage.

DETACH: CheckNotInUse (refused while volumes of the cluster's hosts live on it) -> UnmountFromHosts
(undo mounts again) -> RemoveAttachment (undo adds it back). The image caches stay: they are files
on the storage, not on the hosts, and a later attach uses them again.
"""
from apps.core.errors import Conflict
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.infra.models import Host

from .. import shared
from ..models import Volume, VolumeStatus
from .primary_storage import RecordAttachment, _cluster, _ps


class MountOnHosts(RemoteStep):
    def run(self, ctx):
        ps = _ps(ctx)
        mounted = ctx.get("mounted_host_uuids", [])
        for host in shared.connected_hosts(_cluster(ctx)):
            answer = shared.mount(ps, host, request_id=f"{ctx.job.uuid}-mount-{host.uuid}")
            if answer.get("mounted") and not answer.get("already") and str(host.uuid) not in mounted:
                mounted.append(str(host.uuid))
                ctx.mounted_host_uuids = mounted

    def rollback(self, ctx):
        ps = _ps(ctx)
        for host in Host.objects.filter(uuid__in=ctx.get("mounted_host_uuids", [])):
            shared.unmount(ps, host)
        del ctx.mounted_host_uuids


class ReadCapacity(RemoteStep, NoRollback):
    """The figures are the storage's own (the same from every host): one host is asked."""

    def run(self, ctx):
        ps = _ps(ctx)
        hosts = shared.connected_hosts(_cluster(ctx))
        if hosts:
            shared.refresh_capacity(ps, hosts[0])
        ctx.result = {"primary_storage_uuid": str(ps.uuid), "cluster_uuid": ctx.args["cluster_uuid"],
                      "mount_path": ps.root, "hosts": [str(h.uuid) for h in hosts],
                      "total_capacity": ps.total_capacity,
                      "available_physical_capacity": ps.available_physical_capacity}


# Callables ``hook(host)`` run for each Connected host of a cluster a shared storage was just
# attached to; apps above storage append to it in their AppConfig.ready() (compute: the HA
# heartbeat, which a host otherwise starts only when it connects). Best effort: a hook logs its
# own failures; the storage is attached either way.
SHARED_STORAGE_ATTACHED_HOOKS = []


class TellHosts(RemoteStep, NoRollback):
    def run(self, ctx):
        for host in shared.connected_hosts(_cluster(ctx)):
            for hook in SHARED_STORAGE_ATTACHED_HOOKS:
                hook(host)


ATTACH_SHARED_PRIMARY_STORAGE = Flow("attach-shared-primary-storage",
                                     [RecordAttachment, MountOnHosts, ReadCapacity, TellHosts],
                                     action="attach-primary-storage")


class CheckNotInUse(DbStep, NoRollback):
    def run(self, ctx):
        ps, cluster = _ps(ctx), _cluster(ctx)
        in_use = Volume.objects.filter(primary_storage=ps, host__cluster=cluster).exclude(
            status=VolumeStatus.DELETED).count()
        if in_use:
            raise Conflict(f"{in_use} volume(s) of cluster {cluster.name} live on primary storage {ps.name}",
                           code="PRIMARY_STORAGE_IN_USE", details={"volumes": in_use})


class UnmountFromHosts(RemoteStep):
    def run(self, ctx):
        ps = _ps(ctx)
        unmounted = ctx.get("unmounted_host_uuids", [])
        for host in shared.connected_hosts(_cluster(ctx)):
            answer = shared.unmount(ps, host)
            if answer.get("unmounted") and str(host.uuid) not in unmounted:
                unmounted.append(str(host.uuid))
                ctx.unmounted_host_uuids = unmounted

    def rollback(self, ctx):
        ps = _ps(ctx)
        for host in Host.objects.filter(uuid__in=ctx.get("unmounted_host_uuids", [])):
            shared.mount(ps, host)
        del ctx.unmounted_host_uuids


class RemoveAttachment(DbStep):
    def run(self, ctx):
        ps, cluster = _ps(ctx), _cluster(ctx)
        ctx.was_attached = ps.clusters.filter(pk=cluster.pk).exists()
        ps.clusters.remove(cluster)
        ctx.result = {"primary_storage_uuid": str(ps.uuid), "cluster_uuid": str(cluster.uuid)}

    def rollback(self, ctx):
        if ctx.get("was_attached"):
            _ps(ctx).clusters.add(_cluster(ctx))


DETACH_SHARED_PRIMARY_STORAGE = Flow("detach-shared-primary-storage",
                                     [CheckNotInUse, UnmountFromHosts, RemoveAttachment],
                                     action="detach-primary-storage")

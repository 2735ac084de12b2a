"""What the snapshot flows share: which VM a volume belongs to, the host whose agent reaches its
files, the claims on the volumes and the VM a snapshot operation changes, the tree of a volume.

Storage does not import compute: the VM row is read through core's resource registry
(``resource_model("VmInstance")``), for its state, its host and its claim (``busy_job``).
"""
import uuid as uuid_lib

from apps.core.errors import Conflict, InvalidState, NotFound
from apps.core.models.base import resource_model

from . import space
from .models import Volume, VolumeSnapshot, VolumeStatus

# a running domain takes the snapshot itself (libvirt); these are the states where one may
LIVE_STATES = ("Running", "Paused")
SNAPSHOT_STATES = ("Running", "Paused", "Stopped")


def vm_row(vm_uuid):
    """The VM ``vm_uuid`` (None when there is no VM app or no such VM)."""
    model = resource_model("VmInstance")
    if model is None or not vm_uuid:
        return None
    return model.objects.select_related("host").filter(uuid=vm_uuid).first()


def check_vm_state(vm, allowed, code="VM_STATE_NOT_ALLOWED"):
    if vm is not None and vm.state not in allowed:
        raise InvalidState(f"VM {vm.name} is {vm.state}; this needs it {' or '.join(allowed)}", code=code,
                           details={"vm_uuid": str(vm.uuid), "state": vm.state})


def host_of(volumes, vm):
    """The host to ask: a running VM's own (it holds the files open), else the one that reaches the
    volumes' files (``space.host_for``); every volume must be reachable from it."""
    host = vm.host if vm is not None and vm.host_id is not None else None
    for volume in volumes:
        reach = space.host_for(volume)
        if host is None:
            host = reach
        if reach is None or (space.is_local(volume.primary_storage) and reach.pk != host.pk):
            raise Conflict(f"volume {volume.name} is not reachable from a connected host",
                           code="VOLUME_HOST_UNREACHABLE", details={"volume_uuid": str(volume.uuid)})
    return host


def ready_volumes(volume_uuids):
    volumes = list(Volume.objects.select_related("host", "primary_storage").filter(uuid__in=volume_uuids))
    missing = set(map(str, volume_uuids)) - {str(v.uuid) for v in volumes}
    if missing:
        raise NotFound(f"volume {sorted(missing)[0]} not found", code="VOLUME_NOT_FOUND")
    for volume in volumes:
        if volume.status != VolumeStatus.READY or not volume.install_path:
            raise InvalidState(f"volume {volume.name} is {volume.status}, not Ready", code="VOLUME_NOT_READY",
                               details={"volume_uuid": str(volume.uuid), "status": volume.status})
    return sorted(volumes, key=lambda v: volume_uuids.index(str(v.uuid)))


def claim(ctx, rows):
    """Hold every row of ``rows`` for this job (``busy_job``, 409 RESOURCE_BUSY when another job has
    one), remembered in ``ctx.claimed`` for ``release``. The job's own resource is held already, and
    so are the rows the API claimed for it (``args["held"]``: [[resource type, uuid]])."""
    claimed = _claimed(ctx)
    for row in rows:
        if row is None or str(row.busy_job or "") == str(ctx.job.uuid):
            continue
        row.mark_busy(ctx.job.uuid)
        claimed.append([row.resource_type(), str(row.uuid)])
    ctx.claimed = claimed


def _claimed(ctx):
    claimed = ctx.get("claimed")
    return list(claimed if claimed is not None else ctx.args.get("held") or [])


def release(ctx):
    for resource_type, resource_uuid in _claimed(ctx):
        model = resource_model(resource_type)
        if model is not None:
            model.release_busy(resource_uuid, ctx.job.uuid)
    ctx.claimed = []


def derived_uuid(job_uuid, *names):
    """A uuid a step and its rollback (in any process) both know from the job: what it makes."""
    return str(uuid_lib.uuid5(uuid_lib.UUID(str(job_uuid)), ":".join(map(str, names))))


def overlay_path(volume, name):
    """A new top file of ``volume`` beside its current one (the volume's own directory)."""
    directory = volume.install_path.rsplit("/", 1)[0]
    return f"{directory}/{volume.uuid}-{name}.qcow2"


def children_files(snapshot):
    """The files backed by ``snapshot``'s: its children's, and the volume's own when it is latest."""
    files = [path for path in snapshot.children.values_list("install_path", flat=True) if path]
    if snapshot.latest:
        files.append(snapshot.volume.install_path)
    return files


def tree(volume):
    """``volume``'s snapshots as nested dicts, oldest first; ``current`` marks where the volume's
    file hangs (under the latest snapshot)."""
    rows = list(VolumeSnapshot.objects.filter(volume=volume).order_by("created_at", "id"))
    nodes = {row.pk: {"uuid": str(row.uuid), "name": row.name, "status": row.status, "latest": row.latest,
                      "live": row.live, "size": row.size, "created_at": row.created_at,
                      "group_uuid": None, "children": []} for row in rows}
    groups = dict(VolumeSnapshot.objects.filter(volume=volume, group__isnull=False)
                  .values_list("pk", "group__uuid"))
    roots = []
    for row in rows:
        node = nodes[row.pk]
        node["group_uuid"] = str(groups[row.pk]) if row.pk in groups else None
        (nodes[row.parent_id]["children"] if row.parent_id in nodes else roots).append(node)
    return roots


def release_snapshot_space(volume, snapshots):
    """Give back what ``snapshots`` (of ``volume``) count on its primary storage: their files'
    ``actual_size``, taken when each was made (flows/volume_snapshot.py ReserveSnapshotSpace)."""
    total = sum(s.actual_size or 0 for s in snapshots)
    if total:
        space.release(volume.primary_storage, volume.host, total)


def remove_snapshot_files(volume):
    """Every snapshot file of ``volume`` from its host (before the volume's rows go)."""
    import logging

    from apps.core.errors import CloudPortalError
    from apps.infra import agent

    snapshots = list(VolumeSnapshot.objects.filter(volume_id=volume.pk))
    release_snapshot_space(volume, snapshots)
    paths = [s.install_path for s in snapshots if s.install_path]
    host = space.host_for(volume) if paths and volume.host_id else None
    for path in paths:
        if host is None:
            logging.getLogger(__name__).warning("snapshot file %s of volume %s stays: no host reaches it", path,
                                                volume.uuid)
            continue
        try:
            agent.call(host, "/v1/volume/delete", {"path": path})
        except CloudPortalError as exc:
            logging.getLogger(__name__).warning("snapshot file %s stays on host %s: %s", path, host.name, exc.message)

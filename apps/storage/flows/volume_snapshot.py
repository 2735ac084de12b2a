"""Volume snapshot flows: take (one volume, or every volume of a VM at once), revert, delete.

take-volume-snapshots  args: ``volume_uuids``; optional ``vm_uuid`` (else the VM the volumes are
    attached to), ``name``, ``group_uuid`` (a VolumeSnapshotGroup to make or fill: a VM snapshot),
    ``snapshot_uuids`` ({volume uuid: snapshot uuid} of rows the API inserted already).
    PlanSnapshots -> TakeSnapshots (one agent call for every disk: atomic for a running VM)
    -> ReserveSnapshotSpace (each frozen file's actual size on its primary storage) -> EndSnapshots
    result: ``{"snapshot_uuids": [...], "group_uuid", "live"}``
revert-volume-snapshots  args: ``snapshot_uuids`` (one per volume; the VM stopped)
    PlanRevert -> CreateRevertOverlays -> RemoveOldTops (best effort) -> EndRevert
delete-volume-snapshots  args: ``snapshot_uuids``
    PlanDelete -> MergeSnapshots (each snapshot merged into its children, then its file goes) -> EndDelete

Other flows (a live clone, an image from a VM) embed the take steps: ``SNAPSHOT_STEPS`` reads the
same keys from ``ctx`` (``ctx_value``), and leaves ``ctx.snapshot_plan`` (one entry per volume:
``snapshot_uuid``, ``volume_uuid``, ``top`` = the snapshot's file, ``overlay`` = the volume's new
file) and ``ctx.result``.

Every row a flow makes has a uuid derived from the job's (``derived_uuid``), so a rollback in any
process finds it; the volumes and the VM are claimed (``busy_job``) for the whole flow, so nothing
starts, stops or redefines the VM while its files change.
"""
import logging

from django.db import transaction
from django.db.models import F

from apps.core.errors import CloudPortalError, InvalidArgument, InvalidState
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep, ctx_value
from apps.infra import agent
from apps.infra.models import Host

from .. import space
from ..models import Volume, VolumeSnapshot, VolumeSnapshotGroup, VolumeSnapshotStatus
from ..snapshot_chain import (LIVE_STATES, SNAPSHOT_STATES, check_vm_state, children_files, claim, derived_uuid,
                              host_of, overlay_path, ready_volumes, release, vm_row)

log = logging.getLogger(__name__)


def _host(ctx):
    return Host.objects.get(uuid=ctx.snapshot_host_uuid)


def _call(ctx, path, body, tag=""):
    return agent.call(_host(ctx), path, body, request_id=f"{ctx.job.uuid}:{path}:{tag}")


def _vm_of(volumes, vm_uuid):
    if not vm_uuid:
        attached = {str(v.vm_instance_uuid) for v in volumes if v.vm_instance_uuid}
        if len(attached) > 1:
            raise InvalidArgument("the volumes belong to several VMs", code="VOLUMES_OF_SEVERAL_VMS")
        vm_uuid = attached.pop() if attached else None
    return vm_row(vm_uuid)


# --- take -----------------------------------------------------------------------------------
def _snapshot_uuid(ctx, volume_uuid):
    given = (ctx_value(ctx, "snapshot_uuids") or {}).get(str(volume_uuid))
    return given or derived_uuid(ctx.job.uuid, "snapshot", volume_uuid)


class PlanSnapshots(DbStep):
    """Checks the volumes and the VM, claims them, and makes the snapshot rows (Creating)."""

    def run(self, ctx):
        volume_uuids = [str(u) for u in ctx_value(ctx, "volume_uuids")]
        volumes = ready_volumes(volume_uuids)
        vm = _vm_of(volumes, ctx_value(ctx, "vm_uuid"))
        check_vm_state(vm, SNAPSHOT_STATES)
        host = host_of(volumes, vm)
        claim(ctx, [vm, *volumes])
        group_uuid = ctx_value(ctx, "group_uuid")
        name = ctx_value(ctx, "name") or ""
        group = None
        if group_uuid:
            group, _ = VolumeSnapshotGroup.objects.get_or_create(uuid=group_uuid, defaults={
                "name": name, "account_id": volumes[0].account_id,
                "vm_instance_uuid": vm.uuid if vm is not None else None})
        plan = []
        for volume in volumes:
            snapshot_uuid = _snapshot_uuid(ctx, volume.uuid)
            parent = VolumeSnapshot.objects.filter(volume=volume, latest=True).first()
            VolumeSnapshot.objects.update_or_create(uuid=snapshot_uuid, defaults={
                "name": name or f"{volume.name}-snapshot", "account_id": volume.account_id, "volume": volume,
                "parent": parent, "group": group, "status": VolumeSnapshotStatus.CREATING,
                "size": volume.size, "format": volume.format})
            plan.append({"snapshot_uuid": snapshot_uuid, "volume_uuid": str(volume.uuid), "top": volume.install_path,
                         "overlay": overlay_path(volume, snapshot_uuid[:8]), "format": volume.format,
                         "parent_uuid": str(parent.uuid) if parent else None})
        ctx.snapshot_plan = plan
        ctx.snapshot_host_uuid = str(host.uuid)
        ctx.snapshot_vm_uuid = str(vm.uuid) if vm is not None and vm.state in LIVE_STATES else None

    def rollback(self, ctx):
        volume_uuids = ctx_value(ctx, "volume_uuids") or []
        uuids = [_snapshot_uuid(ctx, volume_uuid) for volume_uuid in volume_uuids]
        VolumeSnapshot.objects.filter(uuid__in=uuids).delete()
        group_uuid = ctx_value(ctx, "group_uuid")
        if group_uuid and not VolumeSnapshot.objects.filter(group__uuid=group_uuid).exists():
            VolumeSnapshotGroup.objects.filter(uuid=group_uuid).delete()
        release(ctx)


def _disks(ctx):
    return [{"path": item["top"], "overlay": item["overlay"], "format": item["format"]} for item in ctx.snapshot_plan]


class TakeSnapshots(RemoteStep):
    """One agent call for every disk: a running VM's in one atomic libvirt snapshot."""

    def run(self, ctx):
        answer = _call(ctx, "/v1/volume/snapshot", {"vm_uuid": ctx.snapshot_vm_uuid, "disks": _disks(ctx)})
        ctx.snapshot_taken = {"live": bool(answer.get("live")),
                              "sizes": [int(d.get("actual_size") or 0) for d in answer.get("disks", [])],
                              # None: an agent that does not say (older than 0.3.x); the volume's size then
                              "frozen": [None if d.get("frozen_actual_size") is None else int(d["frozen_actual_size"])
                                         for d in answer.get("disks", [])]}

    def record(self, ctx):
        """The snapshots Ready, each volume on its new file, ``latest`` moved to the new snapshots."""
        live = ctx.snapshot_taken["live"]
        frozen = ctx.snapshot_taken.get("frozen") or []
        for index, item in enumerate(ctx.snapshot_plan):
            volume = Volume.objects.select_for_update().get(uuid=item["volume_uuid"])
            VolumeSnapshot.objects.filter(volume=volume, latest=True).update(latest=False)
            VolumeSnapshot.objects.filter(uuid=item["snapshot_uuid"]).update(
                status=VolumeSnapshotStatus.READY, install_path=item["top"], latest=True, live=live,
                actual_size=frozen[index] if index < len(frozen) and frozen[index] is not None else volume.actual_size)
            Volume.objects.filter(pk=volume.pk).update(install_path=item["overlay"])
        group_uuid = ctx_value(ctx, "group_uuid")
        if group_uuid:
            VolumeSnapshotGroup.objects.filter(uuid=group_uuid).update(status=VolumeSnapshotStatus.READY)

    def rollback(self, ctx):
        """The agent first (a running VM goes back to its old files), then the rows: they never
        name a file the VM does not use."""
        if not ctx.get("snapshot_plan"):
            return
        _call(ctx, "/v1/volume/snapshot-undo", {"vm_uuid": ctx.snapshot_vm_uuid, "disks": _disks(ctx)}, "undo")
        with transaction.atomic():
            for item in ctx.snapshot_plan:
                Volume.objects.filter(uuid=item["volume_uuid"], install_path=item["overlay"]).update(
                    install_path=item["top"])
                VolumeSnapshot.objects.filter(uuid=item["snapshot_uuid"]).update(
                    latest=False, status=VolumeSnapshotStatus.CREATING)
                if item["parent_uuid"]:
                    VolumeSnapshot.objects.filter(uuid=item["parent_uuid"]).update(latest=True)


class ReserveSnapshotSpace(DbStep):
    """Each snapshot's file counts on its volume's primary storage from now on: its actual size as
    the agent read it once frozen (the volume's own reservation, its virtual size, now covers the
    new overlay). 422 NO_PRIMARY_STORAGE_CAPACITY when it does not fit, and the snapshot is undone."""

    def run(self, ctx):
        reserved = []
        for item in ctx.snapshot_plan:
            snapshot = VolumeSnapshot.objects.select_related("volume__primary_storage", "volume__host").get(
                uuid=item["snapshot_uuid"])
            volume = snapshot.volume
            space.reserve(volume.primary_storage, volume.host, snapshot.actual_size)
            reserved.append({"primary_storage_id": volume.primary_storage_id, "host_id": volume.host_id,
                             "size": snapshot.actual_size})
        ctx.snapshot_reserved = reserved

    def rollback(self, ctx):
        from ..models import PrimaryStorage

        for held in ctx.get("snapshot_reserved") or []:
            space.release(PrimaryStorage.objects.get(pk=held["primary_storage_id"]),
                          Host.objects.filter(pk=held["host_id"]).first(), held["size"])
        ctx.snapshot_reserved = []


class EndSnapshots(DbStep, NoRollback):
    def run(self, ctx):
        release(ctx)
        ctx.result = {"snapshot_uuids": [item["snapshot_uuid"] for item in ctx.snapshot_plan],
                      "group_uuid": ctx_value(ctx, "group_uuid"), "live": ctx.snapshot_taken["live"]}


SNAPSHOT_STEPS = [PlanSnapshots, TakeSnapshots, ReserveSnapshotSpace, EndSnapshots]
TAKE_VOLUME_SNAPSHOTS = Flow("take-volume-snapshots", SNAPSHOT_STEPS, action="take-volume-snapshots")


# --- revert ---------------------------------------------------------------------------------
def _snapshots(ctx, statuses=(VolumeSnapshotStatus.READY,)):
    uuids = [str(u) for u in ctx.args["snapshot_uuids"]]
    rows = list(VolumeSnapshot.objects.select_related("volume", "volume__host", "volume__primary_storage")
                .filter(uuid__in=uuids))
    for row in rows:
        if row.status not in statuses:
            raise InvalidState(f"snapshot {row.name} is {row.status}", code="SNAPSHOT_NOT_READY",
                               details={"snapshot_uuid": str(row.uuid), "status": row.status})
    return rows


class PlanRevert(DbStep):
    def run(self, ctx):
        snapshots = _snapshots(ctx)
        volumes = [s.volume for s in snapshots]
        if len({v.pk for v in volumes}) != len(volumes):
            raise InvalidArgument("one snapshot per volume", code="ONE_SNAPSHOT_PER_VOLUME")
        ready_volumes([str(v.uuid) for v in volumes])
        vm = _vm_of(volumes, None)
        check_vm_state(vm, ("Stopped",), code="VM_NOT_STOPPED")
        host = host_of(volumes, None)
        claim(ctx, [vm, *volumes])
        ctx.snapshot_host_uuid = str(host.uuid)
        ctx.revert_plan = [{
            "snapshot_uuid": str(s.uuid), "volume_uuid": str(s.volume.uuid), "file": s.install_path,
            "format": s.format, "old_top": s.volume.install_path,
            "new_top": overlay_path(s.volume, derived_uuid(ctx.job.uuid, "revert", s.volume.uuid)[:8]),
            "old_latest": [str(u) for u in VolumeSnapshot.objects.filter(volume=s.volume, latest=True)
                           .values_list("uuid", flat=True)]} for s in snapshots]

    def rollback(self, ctx):
        release(ctx)


class CreateRevertOverlays(RemoteStep):
    def run(self, ctx):
        for item in ctx.revert_plan:
            _call(ctx, "/v1/volume/create", {"path": item["new_top"], "format": "qcow2", "backing_file": item["file"],
                                             "backing_format": item["format"]}, item["volume_uuid"])

    def record(self, ctx):
        for item in ctx.revert_plan:
            VolumeSnapshot.objects.filter(volume__uuid=item["volume_uuid"], latest=True).update(latest=False)
            VolumeSnapshot.objects.filter(uuid=item["snapshot_uuid"]).update(latest=True)
            Volume.objects.filter(uuid=item["volume_uuid"]).update(install_path=item["new_top"])

    def rollback(self, ctx):
        """The rows back first (the volume names its old file again), then the new files go."""
        with transaction.atomic():
            for item in ctx.revert_plan:
                if Volume.objects.filter(uuid=item["volume_uuid"], install_path=item["new_top"]).update(
                        install_path=item["old_top"]):
                    VolumeSnapshot.objects.filter(volume__uuid=item["volume_uuid"]).update(latest=False)
                    VolumeSnapshot.objects.filter(uuid__in=item["old_latest"]).update(latest=True)
        for item in ctx.revert_plan:
            _call(ctx, "/v1/volume/delete", {"path": item["new_top"]}, f"undo-{item['volume_uuid']}")


class RemoveOldTops(RemoteStep, NoRollback):
    """The files the volumes used until now, unless a snapshot is one. Never fails the revert: a
    file that cannot go is named in the result (the volumes already use their new files)."""

    def run(self, ctx):
        left = []
        for item in ctx.revert_plan:
            if VolumeSnapshot.objects.filter(install_path=item["old_top"]).exists():
                continue
            try:
                _call(ctx, "/v1/volume/delete", {"path": item["old_top"]}, f"old-{item['volume_uuid']}")
            except CloudPortalError as exc:
                log.warning("revert: %s stays on its host: %s", item["old_top"], exc.message)
                left.append({"path": item["old_top"], "code": exc.code})
        ctx.files_left = left


class EndRevert(DbStep, NoRollback):
    def run(self, ctx):
        release(ctx)
        ctx.result = {"reverted": [{"volume_uuid": i["volume_uuid"], "snapshot_uuid": i["snapshot_uuid"]}
                                   for i in ctx.revert_plan]}
        if ctx.get("files_left"):
            ctx.result["files_left"] = ctx.files_left


REVERT_VOLUME_SNAPSHOTS = Flow("revert-volume-snapshots", [PlanRevert, CreateRevertOverlays, RemoveOldTops, EndRevert],
                               action="revert-volume-snapshots")


# --- delete ---------------------------------------------------------------------------------
class PlanDelete(DbStep):
    def run(self, ctx):
        snapshots = _snapshots(ctx, statuses=(VolumeSnapshotStatus.READY, VolumeSnapshotStatus.DELETING))
        volumes = {s.volume.pk: s.volume for s in snapshots}
        vms = {}
        for volume in volumes.values():
            vm = vm_row(volume.vm_instance_uuid)
            if vm is not None:
                check_vm_state(vm, SNAPSHOT_STATES)
                vms[vm.pk] = vm
        claim(ctx, [*vms.values(), *volumes.values()])
        ctx.delete_status_before = {str(s.uuid): s.status for s in snapshots}
        VolumeSnapshot.objects.filter(pk__in=[s.pk for s in snapshots]).update(status=VolumeSnapshotStatus.DELETING)

    def rollback(self, ctx):
        for snapshot_uuid, status in (ctx.get("delete_status_before") or {}).items():
            VolumeSnapshot.objects.filter(uuid=snapshot_uuid).update(status=status)
        release(ctx)


class MergeSnapshots(RemoteStep, NoRollback):
    """Each snapshot merges into its children (their data unchanged, the agent rebases them onto its
    backing file), then its row goes with the children re-parented, in a transaction of its own.
    Nothing to undo: every step keeps what each volume and snapshot shows, and a failed delete can
    be run again (it goes on from where it stopped)."""

    def run(self, ctx):
        for snapshot_uuid in ctx.args["snapshot_uuids"]:
            snapshot = VolumeSnapshot.objects.select_related("volume", "volume__host", "volume__primary_storage",
                                                             "parent").filter(uuid=snapshot_uuid).first()
            if snapshot is None:
                continue   # merged by an earlier run of this step
            volume = snapshot.volume
            vm = vm_row(volume.vm_instance_uuid)
            host = host_of([volume], vm)
            running = vm is not None and vm.state in LIVE_STATES
            agent.call(host, "/v1/volume/snapshot-merge", {
                "vm_uuid": str(vm.uuid) if running else None, "path": snapshot.install_path,
                "children": children_files(snapshot)}, request_id=f"{ctx.job.uuid}:merge:{snapshot_uuid}")
            with transaction.atomic():
                _move_space(snapshot, volume, host)
                snapshot.children.update(parent=snapshot.parent)
                if snapshot.latest and snapshot.parent is not None:
                    VolumeSnapshot.objects.filter(pk=snapshot.parent.pk).update(latest=True)
                snapshot.delete()


def _move_space(snapshot, volume, host):
    """The merged file's bytes: given back when it merged into the volume's current file only (the
    volume's reservation covers that); else carried by its child snapshots (each got a copy of the data)."""
    size = snapshot.actual_size or 0
    children = list(snapshot.children.values_list("pk", flat=True))
    if not children:
        space.release(volume.primary_storage, volume.host, size)
        return
    VolumeSnapshot.objects.filter(pk__in=children).update(actual_size=F("actual_size") + size)
    space.carry(volume.primary_storage, volume.host, size * (len(children) - 1))


class EndDelete(DbStep, NoRollback):
    def run(self, ctx):
        VolumeSnapshotGroup.objects.filter(snapshots__isnull=True, uuid__in=ctx.args.get("group_uuids") or []).delete()
        release(ctx)
        ctx.result = {"deleted": list(ctx.args["snapshot_uuids"])}


DELETE_VOLUME_SNAPSHOTS = Flow("delete-volume-snapshots", [PlanDelete, MergeSnapshots, EndDelete],
                               action="delete-volume-snapshots")

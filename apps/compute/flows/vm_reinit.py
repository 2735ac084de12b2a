"""Reinit: a Stopped VM's root volume goes back to its image (ZStack's reimage).

    CheckReinit -> CacheImage -> CreateReinitOverlay -> SwapRootFile -> RecordReinit -> DeleteOldFile

A new overlay on the image cache is made beside the root volume's file (``<path>.reinit``), then
the two are swapped by rename (the old file set aside as ``<path>.old``): the VM's definition
still names the same path. Until RecordReinit commits, every step is undone and the old file is
back in place; after it the old file, the old image cache reference and (ZStack behaviour) the
root volume's snapshots (rows and files) go. The job holds the VM, so it cannot be started meanwhile.

Args: vm_uuid.
"""
from apps.core.errors import CloudPortalError, InvalidState
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.infra import agent
from apps.infra.flow_context import ctx_host
from apps.storage import cache
from apps.storage.flows.vm_steps import CacheImage, ctx_image
from apps.storage.models import ImageCache, Volume, VolumeSnapshot, VolumeSnapshotGroup
from apps.storage.snapshot_chain import release_snapshot_space

from ..models import VmInstance, VmState
from .vm_common import connected_host

# callables ``hook(volume)`` run when a root volume has been reinitialised (in RecordReinit's
# transaction): volume snapshots register "the volume's snapshots go" here
REINIT_HOOKS = []


def check_reinit(vm):
    if vm.state != VmState.STOPPED:
        raise InvalidState(f"VM {vm.name} is {vm.state}: stop it to reinit its root volume",
                           details={"vm_uuid": str(vm.uuid), "state": vm.state})
    if vm.root_volume_id is None:
        raise CloudPortalError(f"VM {vm.name} has no root volume", code="VM_HAS_NO_ROOT_VOLUME", status=409)
    volume = vm.root_volume
    image_id = volume.image_id or vm.image_id
    if image_id is None:
        raise CloudPortalError(f"the image of VM {vm.name} is gone: there is nothing to reinit to",
                               code="IMAGE_NOT_FOUND", status=409, details={"vm_uuid": str(vm.uuid)})
    return volume


def _paths(ctx):
    path = ctx.reinit["path"]
    return path, f"{path}.reinit", f"{path}.old"


def _exists(host, path):
    try:
        agent.call(host, "/v1/volume/info", {"path": path})
        return True
    except CloudPortalError as exc:
        if exc.code == "VOLUME_NOT_FOUND":
            return False
        raise


class CheckReinit(DbStep, NoRollback):
    def run(self, ctx):
        vm = VmInstance.objects.select_related("root_volume__host", "root_volume__primary_storage",
                                               "root_volume__image", "last_host").get(uuid=ctx.args["vm_uuid"])
        volume = check_reinit(vm)
        host = connected_host(volume.host or vm.last_host)
        ctx.host_uuid = str(host.uuid)
        ctx.primary_storage_uuid = str(volume.primary_storage.uuid)
        ctx.image_uuid = str((volume.image or vm.image).uuid)
        ctx_image(ctx)   # Ready and Enabled, or 409
        ctx.reinit = {"volume_uuid": str(volume.uuid), "path": volume.install_path, "size": volume.size,
                      "old_sha256": volume.image_sha256}


class CreateReinitOverlay(RemoteStep):
    def run(self, ctx):
        image = ctx_image(ctx)
        _, new, _ = _paths(ctx)
        answer = agent.call(ctx_host(ctx), "/v1/volume/create", {
            "path": new, "format": "qcow2", "size": max(ctx.reinit["size"], image.size),
            "backing_file": ctx.image_cache["path"], "backing_format": image.format},
            request_id=f"{ctx.job.uuid}-reinit-overlay")
        ctx.reinit_made = {"actual_size": int(answer.get("actual_size") or 0)}

    def rollback(self, ctx):
        if ctx.get("reinit"):
            agent.call(ctx_host(ctx), "/v1/volume/delete", {"path": _paths(ctx)[1]})


class SwapRootFile(RemoteStep):
    """``path`` -> ``path.old``, ``path.reinit`` -> ``path``; undone in reverse when ``path.old`` is there."""

    def run(self, ctx):
        host = ctx_host(ctx)
        path, new, old = _paths(ctx)
        agent.call(host, "/v1/volume/rename", {"src": path, "dst": old})
        agent.call(host, "/v1/volume/rename", {"src": new, "dst": path})

    def rollback(self, ctx):
        if not ctx.get("reinit"):
            return
        host = ctx_host(ctx)
        path, new, old = _paths(ctx)
        if not _exists(host, old):
            return   # the old file was never set aside: it is in place
        if _exists(host, path):
            agent.call(host, "/v1/volume/rename", {"src": path, "dst": new})
        agent.call(host, "/v1/volume/rename", {"src": old, "dst": path})


class RecordReinit(DbStep, NoRollback):
    """The volume now is an overlay on the image cache CacheImage counted for it."""

    def run(self, ctx):
        image = ctx_image(ctx)
        Volume.objects.filter(uuid=ctx.reinit["volume_uuid"]).update(
            image=image, image_sha256=image.sha256, actual_size=ctx.reinit_made["actual_size"])
        volume = Volume.objects.get(uuid=ctx.reinit["volume_uuid"])
        # ZStack: a reinitialised root volume keeps no snapshot (their files go in DeleteOldFile)
        snapshots = VolumeSnapshot.objects.filter(volume=volume)
        release_snapshot_space(volume, snapshots)
        ctx.reinit_snapshot_files = [path for path in snapshots.values_list("install_path", flat=True) if path]
        groups = set(snapshots.exclude(group=None).values_list("group_id", flat=True))
        snapshots.update(parent=None)   # parent is PROTECT: unlinked first, then all go at once
        snapshots.delete()
        VolumeSnapshotGroup.objects.filter(pk__in=groups, snapshots=None).delete()
        for hook in REINIT_HOOKS:
            hook(volume)
        ctx.result = {"vm_uuid": ctx.args["vm_uuid"], "volume_uuid": str(volume.uuid), "image_uuid": str(image.uuid)}


class DeleteOldFile(RemoteStep, NoRollback):
    """The old file goes, and with it the image cache reference it held (if any)."""

    def run(self, ctx):
        host = ctx_host(ctx)
        agent.call(host, "/v1/volume/delete", {"path": _paths(ctx)[2]})
        for path in ctx.get("reinit_snapshot_files") or ():   # the old file's chain below it
            agent.call(host, "/v1/volume/delete", {"path": path})
        old_sha256 = ctx.reinit["old_sha256"]
        if old_sha256 and not ctx.get("old_cache_released"):
            row = ImageCache.objects.filter(primary_storage__uuid=ctx.primary_storage_uuid, host=host,
                                            sha256=old_sha256).first()
            if row is not None:
                cache.release(row.pk)
            ctx.old_cache_released = True


REINIT_ROOT_VOLUME = Flow("reinit-root-volume", [
    CheckReinit, CacheImage, CreateReinitOverlay, SwapRootFile, RecordReinit, DeleteOldFile,
], action="reinit-vm")

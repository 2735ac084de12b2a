"""Attach a data volume to a VM, detach it, and what a VM's expunge does with its data volumes.

Attach (the job holds the volume; ``ClaimVm`` holds the VM too, so two attaches to one VM never
pick the same target and a start never defines the VM half-way through an attach)::

    ClaimVm -> ReserveVolumeSpace -> InstantiateVolume -> RecordAttachment -> PlugDisk -> ReleaseVm

A NotInstantiated volume is made on the primary storage of the VM's host first (storage's steps).
A running (or paused) VM gets the disk at once (hot plug, live and persistent); a stopped one only
through its rows: every define carries the attached volumes (volume_define.py). The remote plug is
the last step that can fail, so a failure anywhere leaves no device, row, reservation or file.

Detach: ``ClaimVm -> UnplugDisk -> ClearAttachment -> ReleaseVm``. A running VM's guest must let go
of the disk (virtio-blk needs its cooperation; virtio-scsi does not): when it does not within
volume.detach.timeout the job fails with DETACH_TIMEOUT and the volume stays attached, as the
domain has it.

Context: args ``volume_uuid``, ``vm_uuid``; writes ``vm_claimed``, ``host_uuid``, ``vm_live`` (the
domain runs: hot plug), ``attachment`` {"target", "bus"}.
"""
import copy

from django.utils import timezone

from apps.core.errors import InvalidState, NotFound, ResourceBusy
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep, ctx_cached
from apps.infra.models import Host
from apps.storage import space
from apps.storage.data_volumes import check_attachable, disk_of, first_free_target
from apps.storage.errors import VolumeNotAttached, VolumeOnOtherHost
from apps.storage.flows.data_volumes import (InstantiateVolume, MarkVolumeDeleted, ReserveVolumeSpace,
                                             volume_as_claimed)
from apps.storage.globalconfig import VOLUME_DETACH_TIMEOUT
from apps.storage.models import Volume, VolumeStatus, VolumeType

from ..models import VmInstance, VmState
from .vm_common import connected_host, hypervisor

# a live domain takes the disk at once; a stopped one through its next define
LIVE_STATES = (VmState.RUNNING, VmState.PAUSED)
ATTACHABLE_STATES = LIVE_STATES + (VmState.STOPPED,)
# a destroyed VM has no domain: its volumes are detached from the rows alone
DETACHABLE_STATES = ATTACHABLE_STATES + (VmState.DESTROYED,)


def vm_host(vm):
    """The host the VM's disks live with: where it runs, else where it last ran (local storage)."""
    return vm.host or vm.last_host


def check_reachable(volume, vm):
    """A volume with a file must be reachable from the VM's host: on local storage only from the
    host the file is on (409 VOLUME_ON_OTHER_HOST), on shared storage from the VM's cluster."""
    if volume.status != VolumeStatus.READY or volume.primary_storage_id is None:
        return
    host = vm_host(vm)
    ps = volume.primary_storage
    if space.is_local(ps):
        if host is None or volume.host_id != host.pk:
            raise VolumeOnOtherHost(
                f"volume {volume.name} is on the local storage of host {volume.host.name if volume.host else '?'}; "
                f"VM {vm.name} is on host {host.name if host else 'none'}: a local volume attaches to VMs of its "
                "own host only", details={"volume_uuid": str(volume.uuid), "volume_host_uuid": str(
                    volume.host.uuid) if volume.host else None, "vm_host_uuid": str(host.uuid) if host else None})
    elif vm.cluster_id is None or not ps.clusters.filter(pk=vm.cluster_id).exists():
        raise VolumeOnOtherHost(f"primary storage {ps.name} of volume {volume.name} is not attached to VM "
                                f"{vm.name}'s cluster", code="PRIMARY_STORAGE_NOT_REACHABLE",
                                details={"volume_uuid": str(volume.uuid), "primary_storage_uuid": str(ps.uuid)})


def check_attach(volume, vm):
    """Every rule of an attach, read without locks (the view) or under them (ClaimVm)."""
    check_attachable(volume)
    if vm.state not in ATTACHABLE_STATES:
        raise InvalidState(f"VM {vm.name} is {vm.state}: a data volume attaches to a Running, Paused or Stopped VM",
                           details={"vm_uuid": str(vm.uuid), "state": vm.state})
    if volume.account_id != vm.account_id:
        raise InvalidState(f"volume {volume.name} and VM {vm.name} belong to different accounts",
                           code="ACCOUNT_MISMATCH", details={"volume_uuid": str(volume.uuid)})
    check_reachable(volume, vm)
    host = vm_host(vm)
    if vm.state in LIVE_STATES or volume.status == VolumeStatus.NOT_INSTANTIATED:
        connected_host(host)   # the file is made or the disk plugged there now


def check_detach(volume, vm):
    if volume.vm_instance_uuid is None:
        raise VolumeNotAttached(f"volume {volume.name} is not attached to a VM",
                                details={"volume_uuid": str(volume.uuid)})
    if volume.type != VolumeType.DATA:
        raise InvalidState(f"volume {volume.name} is a root volume: it stays with its VM", code="VOLUME_NOT_DATA")
    if vm is not None:
        if vm.state not in DETACHABLE_STATES:
            raise InvalidState(f"VM {vm.name} is {vm.state}: a data volume detaches from a Running, Paused, "
                               "Stopped or Destroyed VM", details={"vm_uuid": str(vm.uuid), "state": vm.state})
        if vm.state in LIVE_STATES:
            connected_host(vm.host)


def _vm_or_none(uuid, *related):
    """The VM with its hosts (``related``: more), or None: a plain ``get`` by uuid, the form of
    lookup core makes cheap (apps.core.models.querysets), rather than ``filter().first()``."""
    try:
        return VmInstance.objects.select_related("host", "last_host", *related).get(uuid=uuid)
    except VmInstance.DoesNotExist:
        return None


class ClaimVm(DbStep):
    """The VM's rules checked again and the VM held by this job (``busy_job``): one compare-and-set
    UPDATE on the state read, so a VM that changed meanwhile is not taken on an old reading."""

    detach = False

    def run(self, ctx):
        volume = volume_as_claimed(ctx)
        vm_uuid = ctx.args["vm_uuid"]
        vm = _vm_or_none(vm_uuid, "cluster")
        if vm is None:
            if not self.detach:
                raise NotFound(f"VM {vm_uuid} not found", details={"vm_uuid": vm_uuid})
            check_detach(volume, None)   # the VM went: the rows alone
            ctx.vm_live = False
            return
        if self.detach:
            check_detach(volume, vm)
            if str(volume.vm_instance_uuid) != str(vm.uuid):
                raise InvalidState(f"volume {volume.name} is attached to another VM", code="VOLUME_NOT_ATTACHED")
        else:
            check_attach(volume, vm)
        if not VmInstance.objects.filter(pk=vm.pk, state=vm.state, busy_job__isnull=True).update(
                busy_job=ctx.job.uuid):
            state, holder = VmInstance.objects.filter(pk=vm.pk).values_list("state", "busy_job").first()
            if holder:
                raise ResourceBusy(f"VmInstance {vm.uuid} is busy with job {holder}",
                                   details={"job_uuid": str(holder), "resource_uuid": str(vm.uuid)})
            raise InvalidState(f"VM {vm.name} changed from {vm.state} to {state} meanwhile: try again",
                               details={"vm_uuid": str(vm.uuid), "state": state})
        ctx.vm_claimed = True
        host = vm_host(vm)
        ctx.host_uuid = str(host.uuid) if host else None
        ctx.vm_live = vm.state in LIVE_STATES
        # what later steps read of them (the VM is held by this job: its host does not change)
        ctx_cached(ctx, ("vm", vm_uuid), lambda: vm)
        if host is not None:
            ctx_cached(ctx, (Host.__name__, str(host.uuid)), lambda: host)

    def rollback(self, ctx):
        if ctx.get("vm_claimed"):
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"], busy_job=ctx.job.uuid).update(busy_job=None)
            del ctx.vm_claimed

    @classmethod
    def for_detach(cls):
        return type("ClaimVmForDetach", (cls,), {"detach": True})


class ReleaseVm(DbStep, NoRollback):
    def run(self, ctx):
        VmInstance.objects.filter(uuid=ctx.args["vm_uuid"], busy_job=ctx.job.uuid).update(busy_job=None)
        attached = ctx.get("attachment")
        ctx.result = {"volume_uuid": ctx.args["volume_uuid"],
                      "vm_uuid": ctx.args["vm_uuid"] if attached else None,
                      "device_target": attached["target"] if attached else None}


class RecordAttachment(DbStep):
    """The volume's row names the VM and its stable target: the lowest free one of its bus among
    the VM's volumes (virtio from vdb, the root disk being vda; SCSI from sda)."""

    def run(self, ctx):
        volume = volume_as_claimed(ctx)   # its bus; the job holds it, and ClaimVm holds the VM
        used = set(Volume.objects.filter(vm_instance_uuid=ctx.args["vm_uuid"]).exclude(pk=volume.pk)
                   .values_list("device_target", flat=True))
        target = first_free_target(volume.bus, used | {"vda"})
        Volume.objects.filter(pk=volume.pk).update(vm_instance_uuid=ctx.args["vm_uuid"], device_target=target,
                                                   updated_at=timezone.now())
        ctx.attachment = {"target": target, "bus": volume.bus}

    def rollback(self, ctx):
        if ctx.get("attachment"):
            Volume.objects.filter(uuid=ctx.args["volume_uuid"], vm_instance_uuid=ctx.args["vm_uuid"]).update(
                vm_instance_uuid=None, device_target="")
            del ctx.attachment


def _vm_on_host(ctx):
    """The VM (as ClaimVm read it, in this job run; read again in a rollback run elsewhere) and its host."""
    vm = ctx_cached(ctx, ("vm", ctx.args["vm_uuid"]), lambda: _vm_or_none(ctx.args["vm_uuid"]))
    return vm, (vm.host if vm is not None else None)


def _attached_volume(ctx):
    """The volume as this attach leaves it, without reading its row again: the job holds it, so
    only this job's steps (InstantiateVolume's file, RecordAttachment's target) changed it."""
    volume = copy.copy(volume_as_claimed(ctx))
    made = ctx.get("volume_made")
    if made:
        volume.install_path = made["path"]
    volume.device_target = ctx.attachment["target"]
    return volume


class PlugDisk(RemoteStep):
    """Hot plug into a live domain; a stopped VM gets it with its next define (nothing to call)."""

    def run(self, ctx):
        if not ctx.get("vm_live"):
            return
        vm, host = _vm_on_host(ctx)
        disk = disk_of(_attached_volume(ctx))
        hypervisor(ctx, connected_host(host), "/v1/vm/attach-disk", {"vm_uuid": str(vm.uuid), "disk": disk})

    def rollback(self, ctx):
        if not ctx.get("vm_live") or not ctx.get("attachment"):
            return
        vm, host = _vm_on_host(ctx)
        if host is None:
            return
        volume = Volume.objects.get(uuid=ctx.args["volume_uuid"])
        hypervisor(ctx, host, "/v1/vm/detach-disk", {
            "vm_uuid": str(vm.uuid), "target": ctx.attachment["target"], "path": volume.install_path,
            "timeout": VOLUME_DETACH_TIMEOUT.value()}, timeout=VOLUME_DETACH_TIMEOUT.value() + 30)


class UnplugDisk(RemoteStep):
    """The guest lets go of the disk (a live domain), then the definition drops it. DETACH_TIMEOUT
    (409) when the guest keeps it: the domain and the rows both still have it."""

    def run(self, ctx):
        if not ctx.get("vm_live"):
            return
        vm, host = _vm_on_host(ctx)
        volume = Volume.objects.get(uuid=ctx.args["volume_uuid"])
        timeout = VOLUME_DETACH_TIMEOUT.value()
        hypervisor(ctx, connected_host(host), "/v1/vm/detach-disk", {
            "vm_uuid": str(vm.uuid), "target": volume.device_target, "path": volume.install_path,
            "timeout": timeout}, timeout=timeout + 30)
        ctx.unplugged = True

    def rollback(self, ctx):
        """Plug it back (idempotent: a disk the guest kept is there already)."""
        if not ctx.get("vm_live"):
            return
        vm, host = _vm_on_host(ctx)
        volume = Volume.objects.get(uuid=ctx.args["volume_uuid"])
        if host is not None and volume.device_target:
            hypervisor(ctx, host, "/v1/vm/attach-disk", {"vm_uuid": str(vm.uuid), "disk": disk_of(volume)})


class ClearAttachment(DbStep):
    def run(self, ctx):
        volume = Volume.objects.select_for_update().get(uuid=ctx.args["volume_uuid"])
        ctx.detached_from = {"vm_uuid": str(volume.vm_instance_uuid), "target": volume.device_target}
        Volume.objects.filter(pk=volume.pk).update(vm_instance_uuid=None, device_target="", updated_at=timezone.now())

    def rollback(self, ctx):
        was = ctx.get("detached_from")
        if was:
            Volume.objects.filter(uuid=ctx.args["volume_uuid"], vm_instance_uuid=None).update(
                vm_instance_uuid=was["vm_uuid"], device_target=was["target"])
            del ctx.detached_from


class DetachDataVolumes(DbStep, NoRollback):
    """VM expunge: its data volumes stay, detached (the domain is gone already)."""

    def run(self, ctx):
        Volume.objects.filter(vm_instance_uuid=ctx.args["vm_uuid"], type=VolumeType.DATA).update(
            vm_instance_uuid=None, device_target="", updated_at=timezone.now())


ATTACH_DATA_VOLUME = Flow("attach-data-volume", [
    ClaimVm, ReserveVolumeSpace, InstantiateVolume, RecordAttachment, PlugDisk, ReleaseVm])
DETACH_DATA_VOLUME = Flow("detach-data-volume", [ClaimVm.for_detach(), UnplugDisk, ClearAttachment, ReleaseVm])
# DELETE of an attached volume: detached first, then into the recycle bin
DELETE_ATTACHED_DATA_VOLUME = Flow("delete-attached-data-volume", [
    ClaimVm.for_detach(), UnplugDisk, ClearAttachment, ReleaseVm, MarkVolumeDeleted], action="delete-data-volume")

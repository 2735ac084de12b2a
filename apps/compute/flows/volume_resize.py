"""Grow a volume (root or data): ``CheckResize -> ReserveGrowth -> GrowOnHost``.

The growth is reserved on the volume's primary storage first. A volume whose VM runs is grown by
QEMU (``blockResize``: the guest sees the new size at once); any other by ``qemu-img resize`` on the
host that reaches the file; a NotInstantiated one only in its row (its file is made at that size).
Growing is the last step: a failure before it gives the reservation back, and nothing shrinks.

Context: args ``volume_uuid``, ``size``; writes ``growth`` {"primary_storage_uuid", "host_uuid",
"size"} (bytes reserved), ``resize_on`` {"vm_uuid", "target"} (grown through the running domain).
"""
from django.utils import timezone

from apps.core.errors import Conflict
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.infra.models import Host
from apps.storage import space
from apps.storage.data_volumes import check_grow
from apps.storage.flows.data_volumes import volume_of
from apps.storage.models import PrimaryStorage, Volume, VolumeStatus, VolumeType

from ..models import VmInstance
from .vm_common import connected_host, hypervisor
from .volume_attach import LIVE_STATES


class CheckResize(DbStep, NoRollback):
    def run(self, ctx):
        volume = volume_of(ctx)
        check_grow(volume, ctx.args["size"])
        vm = None
        if volume.vm_instance_uuid is not None:
            vm = VmInstance.objects.select_related("host").filter(uuid=volume.vm_instance_uuid).first()
        if vm is not None and vm.state in LIVE_STATES and volume.status == VolumeStatus.READY:
            target = "vda" if volume.type == VolumeType.ROOT else volume.device_target
            ctx.resize_on = {"vm_uuid": str(vm.uuid), "target": target, "host_uuid": str(connected_host(vm.host).uuid)}


class ReserveGrowth(DbStep):
    def run(self, ctx):
        volume = volume_of(ctx)
        if ctx.get("growth") or volume.status != VolumeStatus.READY or volume.primary_storage_id is None:
            return
        delta = ctx.args["size"] - volume.size
        space.reserve(volume.primary_storage, volume.host, delta)
        ctx.growth = {"primary_storage_uuid": str(volume.primary_storage.uuid),
                      "host_uuid": str(volume.host.uuid) if volume.host_id else None, "size": delta}

    def rollback(self, ctx):
        held = ctx.get("growth")
        if held:
            host = Host.objects.filter(uuid=held["host_uuid"]).first() if held["host_uuid"] else None
            space.release(PrimaryStorage.objects.get(uuid=held["primary_storage_uuid"]), host, held["size"])
            del ctx.growth


class GrowOnHost(RemoteStep, NoRollback):
    """Nothing to undo: it is the last step, and a volume does not shrink back."""

    def run(self, ctx):
        volume = volume_of(ctx)
        size = ctx.args["size"]
        if volume.status == VolumeStatus.READY:
            body = {"path": volume.install_path, "size": size}
            on = ctx.get("resize_on")
            if on:
                host = Host.objects.get(uuid=on["host_uuid"])
                body.update(vm_uuid=on["vm_uuid"], target=on["target"])
            else:
                host = space.host_for(volume)
                if host is None:
                    raise Conflict(f"no connected host reaches volume {volume.name}'s file", code="VOLUME_UNREACHABLE",
                                   details={"volume_uuid": str(volume.uuid)})
            answer = hypervisor(ctx, host, "/v1/volume/resize", body)
            ctx.grown = {"size": int(answer.get("size") or size), "online": bool(answer.get("online"))}
        else:
            ctx.grown = {"size": size, "online": False}

    def record(self, ctx):
        Volume.objects.filter(uuid=ctx.args["volume_uuid"]).update(size=ctx.grown["size"], updated_at=timezone.now())
        ctx.result = {"volume_uuid": ctx.args["volume_uuid"], **ctx.grown}


RESIZE_VOLUME = Flow("resize-volume", [CheckResize, ReserveGrowth, GrowOnHost])

"""Creating a VM, ZStack's order, every step undone on failure:

    RecordVm -> AllocateHost -> AllocatePrimaryStorage -> CacheImage -> CreateRootVolume
    -> AllocateNicIps -> RecordNics -> ApplyDhcp -> DefineOnHypervisor -> StartOnHypervisor -> MarkRunning

The API creates the VM row (state Created) so it can answer 202 with it; if any step fails the
completed steps roll back in reverse and RecordVm's rollback deletes the row: a failed create
leaves no capacity, address, volume, image-cache reference or domain behind.

Context (``ctx.args``): vm_uuid, cpu_num, memory_size, image_uuid, l3_network_uuids, static_ips,
zone_uuid, cluster_uuid, host_uuid (pinning), root_disk_size, strategy, start.
"""
from django.db.models import Exists, F, OuterRef

from apps.core.flows import Flow, NoRollback, Step
from apps.network.flows.vm_steps import AllocateNicIps, ApplyDhcp, clusters_for_l3_networks, plan_nic_ips
from apps.storage.flows.vm_steps import (AllocatePrimaryStorage, CacheImage, CreateRootVolume,
                                         choose_primary_storage, root_volume_size)
from apps.storage.models import Image, LocalStorageHostRef, Volume

from ..allocator import PlacementSpec, candidates, reserve_host
from ..flow_context import ctx_host
from ..models import Host, VmInstance, VmNic, VmState
from .vm_common import define_body, fire, hypervisor, ignore_missing


def placement_spec(args, image=None):
    """The allocator's view of a create request: size, pinning, networks and disk room."""
    if image is None:
        image = Image.objects.get(uuid=args["image_uuid"])
    disk = root_volume_size(image, args.get("root_disk_size"))
    has_room = Exists(LocalStorageHostRef.objects.filter(
        host=OuterRef("pk"), primary_storage__state="Enabled", primary_storage__clusters=OuterRef("cluster_id"),
        total_capacity__gte=F("used_capacity") + disk))
    return PlacementSpec(
        cpu_num=args["cpu_num"], memory_size=args["memory_size"],
        zone_uuid=args.get("zone_uuid"), cluster_uuid=args.get("cluster_uuid"), host_uuid=args.get("host_uuid"),
        cluster_uuids=[str(u) for u in clusters_for_l3_networks(args["l3_network_uuids"])],
        avoid_host_uuids=args.get("avoid_host_uuids") or [],
        strategy=args.get("strategy") or "DefaultHostAllocatorStrategy",
        extra_filters=[("PrimaryStorageCapacity", has_room,
                        f"no host has {disk} bytes free on a primary storage attached to its cluster")],
    )


def dry_run(args):
    """Where the VM would go (host, primary storage, addresses) without changing anything;
    raises the error the create would fail with (422 when nothing fits)."""
    image = Image.objects.get(uuid=args["image_uuid"])
    host = candidates(placement_spec(args, image))[0]
    size = root_volume_size(image, args.get("root_disk_size"))
    return {
        "host": {"uuid": str(host.uuid), "name": host.name, "cluster_uuid": str(host.cluster.uuid)},
        "primary_storage": choose_primary_storage(host, size),
        "nics": plan_nic_ips(args["l3_network_uuids"], args.get("static_ips") or {}),
    }


class RecordVm(Step):
    """The row exists already (the API made it); a failed create deletes it."""

    def run(self, ctx):
        ctx.vm_uuid = ctx.args["vm_uuid"]
        ctx.vm_name = VmInstance.objects.values_list("name", flat=True).get(uuid=ctx.args["vm_uuid"])

    def rollback(self, ctx):
        VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).delete()


class AllocateHost(Step):
    def run(self, ctx):
        if ctx.get("host_uuid"):
            return  # a retried step: capacity is held already
        host = reserve_host(placement_spec(ctx.args))
        ctx.host_uuid = str(host.uuid)
        ctx.cached(("host", ctx.host_uuid), lambda: host)  # the later steps' host, without a reload
        VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(
            host=host, last_host=host, cluster_id=host.cluster_id, zone_id=host.cluster.zone_id)

    def rollback(self, ctx):
        host = Host.objects.filter(uuid=ctx.get("host_uuid")).first() if ctx.get("host_uuid") else None
        if host is not None:
            host.release(ctx.args["cpu_num"], ctx.args["memory_size"])
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(host=None, last_host=None)
        del ctx.host_uuid


class LinkRootVolume(NoRollback):
    """The VM points at its root volume (the volume's own rollback deletes it)."""

    def run(self, ctx):
        volume = Volume.objects.get(uuid=ctx.root_volume_uuid)
        VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(root_volume=volume)


class RecordNics(Step):
    def run(self, ctx):
        vm = VmInstance.objects.get(uuid=ctx.args["vm_uuid"])
        VmNic.objects.filter(vm_instance=vm).delete()  # a retried step starts over
        VmNic.objects.bulk_create([
            VmNic(vm_instance=vm, l3_network=_l3(nic["l3_network_uuid"]), used_ip=_used_ip(nic["used_ip_uuid"]),
                  ip=nic["ip"], mac=nic["mac"], netmask=nic["netmask"], gateway=nic.get("gateway") or "",
                  device_id=nic.get("device_id", index))
            for index, nic in enumerate(ctx.nics)])

    def rollback(self, ctx):
        VmNic.objects.filter(vm_instance__uuid=ctx.args["vm_uuid"]).delete()


def _l3(uuid):
    from apps.network.models import L3Network

    return L3Network.objects.get(uuid=uuid)


def _used_ip(uuid):
    from apps.network.models import UsedIp

    return UsedIp.objects.filter(uuid=uuid).first()


class DefineOnHypervisor(Step):
    def run(self, ctx):
        vm = VmInstance.objects.get(uuid=ctx.args["vm_uuid"])
        host = ctx_host(ctx)
        hypervisor(ctx, host, "/v1/vm/define",
                   define_body(vm, ctx.nics, ctx.root_volume_path, ctx.get("root_volume_format") or "qcow2"))

    def rollback(self, ctx):
        ignore_missing(lambda: hypervisor(ctx, ctx_host(ctx), "/v1/vm/undefine", {"vm_uuid": ctx.args["vm_uuid"]}))


class StartOnHypervisor(Step):
    def run(self, ctx):
        if not ctx.args.get("start", True):
            return
        hypervisor(ctx, ctx_host(ctx), "/v1/vm/start", {"vm_uuid": ctx.args["vm_uuid"]})

    def rollback(self, ctx):
        ignore_missing(lambda: hypervisor(ctx, ctx_host(ctx), "/v1/vm/destroy", {"vm_uuid": ctx.args["vm_uuid"]}))


class MarkRunning(NoRollback):
    def run(self, ctx):
        started = ctx.args.get("start", True)
        if started:
            vm = fire(ctx.args["vm_uuid"], "running")
        else:  # created stopped: the capacity goes back until it is started
            Host.objects.get(uuid=ctx.host_uuid).release(ctx.args["cpu_num"], ctx.args["memory_size"])
            vm = fire(ctx.args["vm_uuid"], "stopped", host=None)
        ctx.result = {"vm_uuid": str(vm.uuid), "state": vm.state, "host_uuid": ctx.host_uuid}


CREATE_VM = Flow("create-vm", [
    RecordVm, AllocateHost, AllocatePrimaryStorage, CacheImage, CreateRootVolume, LinkRootVolume,
    AllocateNicIps, RecordNics, ApplyDhcp, DefineOnHypervisor, StartOnHypervisor, MarkRunning,
], action="create-vm", timeout=3600)

VM_STATES_HOLDING_A_HOST = (VmState.STARTING, VmState.RUNNING, VmState.STOPPING, VmState.REBOOTING,
                            VmState.PAUSING, VmState.PAUSED, VmState.RESUMING, VmState.MIGRATING, VmState.UNKNOWN)

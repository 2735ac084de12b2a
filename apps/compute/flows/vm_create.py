"""Creating a VM, ZStack's order, every step undone on failure:

    RecordVm -> AllocateHost -> AllocatePrimaryStorage -> CacheImage -> CreateRootVolume
    -> AllocateNicIps -> RecordNics -> ApplyDhcp -> DefineOnHypervisor -> MarkRunning

(DefineOnHypervisor asks the agent to start the domain in the same call.)

The API creates the VM row (state Created) so it can answer 202 with it; if any step fails the
completed steps roll back in reverse and RecordVm's rollback deletes the row: a failed create
leaves no capacity, address, volume, image-cache reference or domain behind.

Context (``ctx.args``): vm_uuid, cpu_num, memory_size, image_uuid, l3_network_uuids, static_ips,
zone_uuid, cluster_uuid, host_uuid (pinning), root_disk_size, strategy, start.
"""
import logging

from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.network.flows.vm_steps import AllocateNicIps, ApplyDhcp, cluster_ids_for_l3_networks, plan_nic_ips
from apps.network.models import L3Network, UsedIp
from apps.storage.flows.vm_steps import (AllocatePrimaryStorage, CacheImage, CreateRootVolume, cached_image,
                                         choose_primary_storage, ctx_root_volume, root_volume_size)
from apps.storage.models import Image
from apps.storage.placement import room_filter

from apps.infra.flow_context import ctx_host
from apps.infra.models import Host

from ..allocator import PlacementSpec, candidates, reserve_host
from ..models import VmInstance, VmNic, VmState
from .guest_create import BuildConfigDrive, HoldInstallIso, RecordCreateQos
from .vm_common import define_body, fire_as_read, hypervisor, ignore_missing

log = logging.getLogger(__name__)


def vm_row(ctx):
    """The VM's row as RecordVm read it (the fields the create flow does not change: name, size,
    console password)."""
    return ctx.cached(("vm", str(ctx.args["vm_uuid"])), lambda: VmInstance.objects.get(uuid=ctx.args["vm_uuid"]))


def placement_spec(args, image=None, ctx=None):
    """The allocator's view of a create request: size, pinning, networks and disk room. With the
    flow's ``ctx``, the rows it reads (image, L3s and the clusters of their L2s) are its cached ones."""
    if image is None:
        image = Image.objects.get(uuid=args["image_uuid"])
    disk = root_volume_size(image, args.get("root_disk_size"))
    storage_filter, storage_values = room_filter(disk, args.get("primary_storage_type"))

    return PlacementSpec(
        cpu_num=args["cpu_num"], memory_size=args["memory_size"],
        zone_uuid=args.get("zone_uuid"), cluster_uuid=args.get("cluster_uuid"), host_uuid=args.get("host_uuid"),
        cluster_ids=cluster_ids_for_l3_networks(args["l3_network_uuids"], ctx),
        avoid_host_uuids=args.get("avoid_host_uuids") or [],
        strategy=args.get("strategy") or "DefaultHostAllocatorStrategy",
        # a primary storage of the host's cluster with room (apps.storage.placement), checked per
        # host so the window query stops at its LIMIT
        extra_filters=[storage_filter], extra_values=storage_values,
    )


def dry_run(args):
    """Where the VM would go (host, primary storage, addresses) without changing anything;
    raises the error the create would fail with (422 when nothing fits)."""
    image = Image.objects.get(uuid=args["image_uuid"])
    host = Host.objects.select_related("cluster").get(pk=candidates(placement_spec(args, image))[0].pk)
    size = root_volume_size(image, args.get("root_disk_size"))
    return {
        "host": {"uuid": str(host.uuid), "name": host.name, "cluster_uuid": str(host.cluster.uuid)},
        "primary_storage": choose_primary_storage(host, size, args.get("primary_storage_uuid"),
                                                  args.get("primary_storage_type")),
        "nics": plan_nic_ips(args["l3_network_uuids"], args.get("static_ips") or {}),
    }


class RecordVm(DbStep):
    """The row exists already (the API made it); a failed create deletes it."""

    def run(self, ctx):
        ctx.vm_uuid = ctx.args["vm_uuid"]
        ctx.vm_name = vm_row(ctx).name

    def rollback(self, ctx):
        VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).delete()


class AllocateHost(DbStep):
    def run(self, ctx):
        ctx.host_uuid = str(reserve_host(placement_spec(ctx.args, cached_image(ctx), ctx)).uuid)
        # the whole row and its cluster, for the later steps: what they use of it (address, agent
        # credentials, cluster) may be a second old; its state, status and capacity were read
        # fresh by the allocator just now
        host = ctx_host(ctx, kept=True)
        VmInstance.objects.place_on(ctx.args["vm_uuid"], host.pk, host.cluster_id, host.cluster.zone_id)

    def rollback(self, ctx):
        host = Host.objects.filter(uuid=ctx.get("host_uuid")).first() if ctx.get("host_uuid") else None
        if host is not None:
            host.release(ctx.args["cpu_num"], ctx.args["memory_size"])
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(host=None, last_host=None)
        del ctx.host_uuid


class RecordNics(DbStep):
    def run(self, ctx):
        vm = vm_row(ctx)
        VmNic.objects.bulk_create([
            VmNic(vm_instance_id=vm.pk, l3_network_id=_row(ctx, "l3", L3Network, nic["l3_network_uuid"]).pk,
                  used_ip_id=_row(ctx, "used_ip", UsedIp, nic["used_ip_uuid"]).pk, ip=nic["ip"], mac=nic["mac"],
                  netmask=nic["netmask"], gateway=nic.get("gateway") or "", device_id=nic.get("device_id", index))
            for index, nic in enumerate(ctx.nics)])

    def rollback(self, ctx):
        VmNic.objects.filter(vm_instance__uuid=ctx.args["vm_uuid"]).delete()


def _row(ctx, kind, model, uuid):
    """The row AllocateNicIps read or made (ctx.cached under (kind, uuid)), else from the database."""
    return ctx.cached((kind, str(uuid)), lambda: model.objects.get(uuid=uuid))


class DefineOnHypervisor(RemoteStep):
    """Defines the domain and, for a VM to start, asks the agent to start it in the same call
    (``"start": true``: one round trip less); an agent that leaves it stopped (one that does not
    know ``start``) is asked to start it. The rollback undefines the domain by the VM's uuid
    (the agent powers it off first)."""

    def run(self, ctx):
        vm = vm_row(ctx)
        host = ctx_host(ctx)
        start = bool(ctx.args.get("start", True))
        body = define_body(vm, ctx.nics, ctx.root_volume_path, ctx.get("root_volume_format") or "qcow2")
        answer = hypervisor(ctx, host, "/v1/vm/define", {**body, "start": start})
        if start and answer.get("state") != "Running":
            hypervisor(ctx, host, "/v1/vm/start", {"vm_uuid": ctx.args["vm_uuid"]})

    def rollback(self, ctx):
        ignore_missing(lambda: hypervisor(ctx, ctx_host(ctx), "/v1/vm/undefine", {"vm_uuid": ctx.args["vm_uuid"]}))


class MarkRunning(DbStep, NoRollback):
    """The VM's new state, its root volume and the end of the job's claim on it in one UPDATE, in
    the transaction that finishes the job (the root volume is linked only now: a VM whose create
    fails never points at a volume its rollback deletes)."""

    def run(self, ctx):
        started = ctx.args.get("start", True)
        root_volume = ctx_root_volume(ctx)
        # the row RecordVm read: written on condition that it is still in that state (fire_as_read)
        if started:
            vm = fire_as_read(vm_row(ctx), "running", release=ctx, root_volume_id=root_volume.pk)
        else:  # created stopped: the capacity goes back until it is started
            Host.objects.get(uuid=ctx.host_uuid).release(ctx.args["cpu_num"], ctx.args["memory_size"])
            vm = fire_as_read(vm_row(ctx), "stopped", release=ctx, host=None, root_volume_id=root_volume.pk)
        ctx.result = {"vm_uuid": str(vm.uuid), "state": vm.state, "host_uuid": ctx.host_uuid}


CREATE_VM = Flow("create-vm", [
    RecordVm, AllocateHost, AllocatePrimaryStorage, CacheImage, CreateRootVolume, AllocateNicIps, RecordNics,
    RecordCreateQos, ApplyDhcp, HoldInstallIso, BuildConfigDrive, DefineOnHypervisor, MarkRunning,
], action="create-vm", timeout=3600)

VM_STATES_HOLDING_A_HOST = (VmState.STARTING, VmState.RUNNING, VmState.STOPPING, VmState.REBOOTING,
                            VmState.PAUSING, VmState.PAUSED, VmState.RESUMING, VmState.MIGRATING, VmState.UNKNOWN)

"""Cloning a VM: a new VM with copies of the source's volumes and new NICs on the same L3s.

    RecordVm -> CheckCloneSource -> AllocateCloneHost -> ReserveCloneStorage
    -> WaitForSource -> PlanLiveSnapshots -> TakeLiveSnapshots      (a running source only)
    -> CopyVolumes -> RemoveTemporarySnapshots                       (the snapshot steps: running only)
    -> AllocateNicIps -> RecordNics -> ApplyDhcp -> DefineOnHypervisor -> MarkRunning

One job per clone; its resource is the new VM (inserted by the API already claimed by the job).
The copies are *flattened* (``/v1/volume/copy``: ``qemu-img convert`` of the whole chain into one
qcow2): a clone depends on no file of its source, so the source can be deleted, reverted,
snapshotted or reinitialised afterwards without any bookkeeping of shared bases; the cost is the
copy's time and space (an overlay on a shared read-only base would need reference-counted bases
on every primary storage kind, which the image cache has only for images).

A Stopped source is copied from its volumes' files. QEMU's image locking guards that copy: a
source started meanwhile cannot take its disk while it is being read, and a copy of a disk a
running domain writes fails with VOLUME_IN_USE. A Running (or Paused) source is cloned live: the
snapshot steps of apps/storage/flows/volume_snapshot.py take a temporary snapshot of all its
volumes at once (one atomic libvirt call; the source keeps running on new overlays), the copies
are made from the snapshot's read-only files, then the snapshot is removed (its overlays committed
back into them: ``/v1/volume/snapshot-undo``). The job holds the source (and its volumes) from the
snapshot to its removal; several live clones of one VM wait for each other (WaitForSource).

Placement: the copies go on the primary storage their source volume is on. Local storage (any
volume on it): the clone goes on the source's host (the allocator is pinned to it; another
``host_uuid`` is HOST_NOT_ALLOWED). Every volume on shared storage: the allocator places each clone
on any suitable host of a cluster every one of those storages is attached to (``host_uuid``, when
given, must be such a host); the agent that copies is one that reaches the files (space.agent_host).

Every step is undone on failure (RecordVm's rollback deletes the clone's row last): no VM row,
NIC, address, capacity, volume file or row, or domain stays.

Args: vm_uuid (the clone), source_vm_uuid, cpu_num, memory_size, l3_network_uuids, start,
host_uuid (optional: on local storage the source's host only; on shared storage a host that mounts it).
"""
import uuid as uuid_lib

from django.db import transaction
from django.db.models import F, OuterRef

from apps.core.errors import CloudPortalError, InvalidArgument, InvalidState, ResourceBusy
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.infra import agent
from apps.infra.flow_context import ctx_host
from apps.infra.models import Host
from apps.network.flows.vm_steps import AllocateNicIps, ApplyDhcp, cluster_ids_for_l3_networks, plan_nic_ips
from apps.storage import space
from apps.storage.flows.volume_snapshot import PlanSnapshots, TakeSnapshots
from apps.storage.models import LocalStorageHostRef, PrimaryStorage, Volume, VolumeSnapshot, VolumeStatus, VolumeType
from apps.storage.snapshot_chain import LIVE_STATES, release

from ..allocator import PlacementSpec, candidates, reserve_host
from ..models import VmInstance, VmState
from .vm_common import connected_host
from .vm_create import DefineOnHypervisor, MarkRunning, RecordNics, RecordVm

CLONABLE_STATES = (VmState.STOPPED, VmState.RUNNING, VmState.PAUSED)


# --- the source ------------------------------------------------------------------------------
def source_volumes(source):
    """The volumes a clone copies, root first: ``[Volume]`` with host and primary storage."""
    volumes = list(Volume.objects.filter(vm_instance_uuid=source.uuid, status=VolumeStatus.READY)
                   .select_related("host", "primary_storage").order_by("created_at", "id"))
    volumes.sort(key=lambda v: (v.pk != source.root_volume_id, v.type != VolumeType.ROOT))
    if not volumes or volumes[0].pk != source.root_volume_id:
        raise CloudPortalError(f"VM {source.name} has no root volume to copy", code="VM_HAS_NO_ROOT_VOLUME",
                               status=409, details={"vm_uuid": str(source.uuid)})
    return volumes


def check_clonable(source):
    """409 naming the state when ``source`` cannot be cloned now."""
    if source.state not in CLONABLE_STATES:
        raise InvalidState(f"VM {source.name} is {source.state}: a VM is cloned Stopped, or Running or Paused "
                           "(live, from a snapshot)", details={"vm_uuid": str(source.uuid), "state": source.state})
    if source.cloud_zone_id:
        raise InvalidArgument("a VM of a public cloud is cloned in its cloud", code="CLONE_NOT_OFFERED")


def source_host(source, volumes):
    """The host whose agent reads the source's files (local storage: where they are)."""
    host = space.host_for(volumes[0]) or source.last_host
    return connected_host(host)


def _volume_entry(volume):
    return {"uuid": str(volume.uuid), "type": volume.type, "path": volume.install_path, "size": volume.size,
            "primary_storage_uuid": str(volume.primary_storage.uuid), "name": volume.name,
            "image_uuid": str(volume.image.uuid) if volume.image_id else None}


def clone_volume_uuid(ctx, index):
    """The clone's volume ``index``, named from the job: a rollback after a dead worker finds it."""
    return str(uuid_lib.uuid5(uuid_lib.UUID(str(ctx.job.uuid)), f"clone-volume-{index}"))


def _clone_path(ctx, index, entry):
    ps = PrimaryStorage.objects.get(uuid=entry["primary_storage_uuid"])
    return ps.volume_path(clone_volume_uuid(ctx, index), entry["type"])


def placement_spec(args, disk, host_uuid, ctx=None, shared_ps_uuids=None):
    """The allocator's request for a clone. ``shared_ps_uuids`` (every volume on shared storage):
    hosts of clusters all those storages are attached to, their room being the storages' own (checked
    when reserved); else the one host ``host_uuid`` with ``disk`` bytes free on its local storage."""
    clusters = cluster_ids_for_l3_networks(args["l3_network_uuids"], ctx)
    if shared_ps_uuids:
        for ps in PrimaryStorage.objects.filter(uuid__in=shared_ps_uuids):
            reach = set(ps.clusters.values_list("pk", flat=True))
            clusters = sorted(reach if clusters is None else set(clusters) & reach)
        return PlacementSpec(cpu_num=args["cpu_num"], memory_size=args["memory_size"], host_uuid=host_uuid,
                             cluster_ids=clusters)
    return PlacementSpec(
        cpu_num=args["cpu_num"], memory_size=args["memory_size"], host_uuid=host_uuid, cluster_ids=clusters,
        extra_filters=[("PrimaryStorageCapacity", _has_storage_room,
                        f"the host has not {disk} bytes free on the source's primary storage")],
        extra_values={"disk": disk})


def shared_storages(entries):
    """The uuids of the primary storages of ``entries`` (``_volume_entry``s) when every one is
    shared, else None (a volume on local storage pins the clone to the source's host)."""
    uuids = sorted({e["primary_storage_uuid"] for e in entries})
    kinds = set(PrimaryStorage.objects.filter(uuid__in=uuids).values_list("type", flat=True))
    return uuids if kinds and kinds <= set(space.SHARED_TYPES) else None


def pinned_host(source_host_uuid, shared_ps_uuids, wanted):
    """The host the allocator is pinned to: ``wanted`` or none on shared storage (when ``wanted``
    mounts every storage), the source's host on local storage; HOST_NOT_ALLOWED (400) otherwise."""
    if not shared_ps_uuids:
        if wanted and str(wanted) != str(source_host_uuid):
            raise InvalidArgument("on local storage a clone stays on its source's host", code="HOST_NOT_ALLOWED",
                                  details={"host_uuid": [f"use {source_host_uuid} or leave it out"]})
        return str(source_host_uuid)
    if wanted:
        mounted = Host.objects.filter(uuid=wanted)
        for ps_uuid in shared_ps_uuids:
            mounted = mounted.filter(cluster__primary_storages__uuid=ps_uuid)
        if not mounted.exists():
            raise InvalidArgument(f"host {wanted} does not mount the source's primary storage",
                                  code="HOST_NOT_ALLOWED",
                                  details={"host_uuid": ["use a host of a cluster the source's storage is attached to"]})
        return str(wanted)
    return None


def _has_storage_room(values):
    return LocalStorageHostRef.objects.filter(
        host=OuterRef("pk"), primary_storage__state="Enabled", primary_storage__clusters=OuterRef("cluster_id"),
        total_capacity__gte=F("used_capacity") + values["disk"]).as_condition()


def dry_run(source, names, host_uuid=None):
    """Where the clones would go (host, primary storage, planned addresses), changing nothing."""
    check_clonable(source)
    volumes = source_volumes(source)
    host = source_host(source, volumes)
    shared = shared_storages([_volume_entry(v) for v in volumes])
    pinned = pinned_host(host.uuid, shared, host_uuid)
    l3s = source_l3_uuids(source)
    args = {"cpu_num": source.cpu_num, "memory_size": source.memory_size, "l3_network_uuids": l3s}
    disk = sum(v.size for v in volumes)
    if shared:
        _check_shared_room(volumes, len(names))
    # each clone's job asks the allocator again (its strategy may pick another of these hosts)
    found = candidates(placement_spec(args, disk * len(names), pinned, shared_ps_uuids=shared))
    return {"placement": [{
        "name": name,
        "host": {"uuid": str(found[index % len(found)].uuid), "name": found[index % len(found)].name},
        "volumes": [{"type": v.type, "size": v.size, "primary_storage_uuid": str(v.primary_storage.uuid)}
                    for v in volumes],
        # addresses are taken when each clone's job runs: this is what the first would get
        "nics": plan_nic_ips(l3s) if l3s else [],
    } for index, name in enumerate(names)]}


def _check_shared_room(volumes, count):
    """Dry run: 422 when a shared storage has not room for ``count`` copies of its volumes."""
    from apps.storage.errors import NoPrimaryStorageCapacity

    needed = {}
    for volume in volumes:
        needed[volume.primary_storage_id] = needed.get(volume.primary_storage_id, 0) + volume.size * count
    for ps in PrimaryStorage.objects.filter(pk__in=needed):
        if space.available(ps) < needed[ps.pk]:
            raise NoPrimaryStorageCapacity(f"primary storage {ps.name} has not {needed[ps.pk]} bytes free",
                                           details={"primary_storage_uuid": str(ps.uuid), "size": needed[ps.pk]})


def source_l3_uuids(source):
    return [str(u) for u in source.nics.order_by("device_id").values_list("l3_network__uuid", flat=True)]


# --- steps -------------------------------------------------------------------------------------
class CheckCloneSource(DbStep, NoRollback):
    def run(self, ctx):
        source = VmInstance.objects.select_related("host", "last_host").get(uuid=ctx.args["source_vm_uuid"])
        check_clonable(source)
        volumes = source_volumes(source)
        ctx.source_host_uuid = str(source_host(source, volumes).uuid)
        ctx.source_volumes = [_volume_entry(v) for v in volumes]
        ctx.live = source.state in LIVE_STATES


class AllocateCloneHost(DbStep):
    """The allocator takes the clone's CPU and memory: on the source's host (local storage), or on any
    host that mounts the source's shared storages (the one asked for, if any)."""

    def run(self, ctx):
        shared = shared_storages(ctx.source_volumes)
        pinned = pinned_host(ctx.source_host_uuid, shared, ctx.args.get("host_uuid"))
        disk = sum(v["size"] for v in ctx.source_volumes)
        host = reserve_host(placement_spec(ctx.args, disk, pinned, ctx, shared_ps_uuids=shared))
        ctx.host_uuid = str(host.uuid)
        host = ctx_host(ctx, kept=True)
        VmInstance.objects.place_on(ctx.args["vm_uuid"], host.pk, host.cluster_id, host.cluster.zone_id)

    def rollback(self, ctx):
        host = Host.objects.filter(uuid=ctx.get("host_uuid")).first() if ctx.get("host_uuid") else None
        if host is not None:
            host.release(ctx.args["cpu_num"], ctx.args["memory_size"])
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(host=None, last_host=None)
        del ctx.host_uuid


class ReserveCloneStorage(DbStep):
    """Room for each copy on the primary storage its source volume is on (on the clone's host)."""

    def run(self, ctx):
        host = Host.objects.get(uuid=ctx.host_uuid)
        reserved = []
        for entry in ctx.source_volumes:
            ps = PrimaryStorage.objects.get(uuid=entry["primary_storage_uuid"])
            space.reserve(ps, host, entry["size"])   # 422 when it does not fit; the transaction undoes the others
            reserved.append({"primary_storage_uuid": entry["primary_storage_uuid"], "size": entry["size"]})
        ctx.clone_reserved = reserved

    def rollback(self, ctx):
        host = Host.objects.filter(uuid=ctx.get("host_uuid")).first()
        for entry in ctx.get("clone_reserved") or []:
            ps = PrimaryStorage.objects.filter(uuid=entry["primary_storage_uuid"]).first()
            if ps is not None and host is not None:
                space.release(ps, host, entry["size"])
        del ctx.clone_reserved


class WaitForSource(RemoteStep, NoRollback):
    """A live clone holds its source from the snapshot to its removal: another job holding it (a
    second clone of the same VM copying, a snapshot) is waited for, an hour at most."""

    retries = 1800
    retry_delay = 2.0

    def run(self, ctx):
        if not ctx.get("live"):
            return
        holder = VmInstance.objects.filter(uuid=ctx.args["source_vm_uuid"]).values_list("busy_job", flat=True).first()
        if holder and str(holder) != str(ctx.job.uuid):
            raise ResourceBusy(f"the source VM is busy with job {holder}", details={"job_uuid": str(holder)})


class _AsSource:
    """The snapshot steps read ``vm_uuid``, ``volume_uuids`` and ``name`` from the context; in this flow
    ``vm_uuid`` is the clone's (in args), so the source's is put in the context for their run only."""

    @staticmethod
    def keys(ctx):
        return {"vm_uuid": ctx.args["source_vm_uuid"], "volume_uuids": [v["uuid"] for v in ctx.source_volumes],
                "name": f"clone-{str(ctx.job.uuid)[:8]}"}

    def run(self, ctx):
        if not ctx.get("live"):
            return
        keys = self.keys(ctx)
        for key, value in keys.items():
            setattr(ctx, key, value)
        try:
            super().run(ctx)
        finally:
            for key in keys:
                delattr(ctx, key)


class PlanLiveSnapshots(_AsSource, PlanSnapshots):
    """Claims the source and its volumes and makes the temporary snapshot's rows."""

    def rollback(self, ctx):
        if ctx.get("live") and ctx.get("source_volumes"):
            ctx.volume_uuids = [v["uuid"] for v in ctx.source_volumes]
            try:
                super().rollback(ctx)
            finally:
                del ctx.volume_uuids


class TakeLiveSnapshots(_AsSource, TakeSnapshots):
    """All the source's volumes at once: the copies are made from files nothing writes any more."""

    def record(self, ctx):
        if ctx.get("live") and ctx.get("snapshot_taken"):
            TakeSnapshots.record(self, ctx)


class RemoveTemporarySnapshots(RemoteStep, NoRollback):
    """The snapshot made for the copy goes: each overlay is committed back into the file below it
    (the running source pivots back there), the rows go, the claims end."""

    def run(self, ctx):
        if not ctx.get("live") or not ctx.get("snapshot_plan"):
            return
        plan = ctx.snapshot_plan
        # a request of its own (not the rollback's): the reaper may undo again after a worker died here
        agent.call(Host.objects.get(uuid=ctx.snapshot_host_uuid), "/v1/volume/snapshot-undo", {
            "vm_uuid": ctx.snapshot_vm_uuid,
            "disks": [{"path": item["top"], "overlay": item["overlay"], "format": item["format"]} for item in plan]},
            request_id=f"{ctx.job.uuid}:remove-temporary-snapshots")
        with transaction.atomic():
            for item in plan:
                Volume.objects.filter(uuid=item["volume_uuid"], install_path=item["overlay"]).update(
                    install_path=item["top"])
                if item["parent_uuid"]:
                    VolumeSnapshot.objects.filter(uuid=item["parent_uuid"]).update(latest=True)
            VolumeSnapshot.objects.filter(uuid__in=[item["snapshot_uuid"] for item in plan]).delete()
        release(ctx)
        del ctx.snapshot_plan


class CopyVolumes(RemoteStep):
    """Flattened copies of the source's volumes; their rows (Ready) are recorded after."""

    def run(self, ctx):
        made = ctx.get("clone_volumes") or []
        for index, entry in enumerate(ctx.source_volumes):
            if index < len(made):
                continue   # a retried step: copied already
            path = _clone_path(ctx, index, entry)
            answer = agent.call(_copier(ctx, entry), "/v1/volume/copy", {"src": _copy_source(ctx, entry), "dst": path},
                                request_id=f"{ctx.job.uuid}-copy-{index}")
            made.append({"uuid": clone_volume_uuid(ctx, index), "path": path, "type": entry["type"],
                         # the size reserved (and given back when the volume goes): the source's
                         "size": entry["size"],
                         "actual_size": int(answer.get("actual_size") or 0),
                         "primary_storage_uuid": entry["primary_storage_uuid"], "image_uuid": entry["image_uuid"]})
            ctx.clone_volumes = made
        root = made[0]
        ctx.root_volume_uuid, ctx.root_volume_path, ctx.root_volume_format = root["uuid"], root["path"], "qcow2"

    def record(self, ctx):
        vm = VmInstance.objects.get(uuid=ctx.args["vm_uuid"])
        host = Host.objects.get(uuid=ctx.host_uuid)
        for index, made in enumerate(ctx.clone_volumes):
            prefix = "ROOT" if made["type"] == VolumeType.ROOT else f"DATA{index}"
            Volume.objects.create(
                uuid=made["uuid"], name=f"{prefix}-{vm.name}", account_id=vm.account_id, type=made["type"],
                status=VolumeStatus.READY, size=made["size"], actual_size=made["actual_size"], format="qcow2",
                install_path=made["path"], primary_storage=PrimaryStorage.objects.get(uuid=made["primary_storage_uuid"]),
                host=host, image_id=_image_pk(made["image_uuid"]), image_sha256="",   # flattened: no image cache
                vm_instance_uuid=vm.uuid)

    def rollback(self, ctx):
        for index, entry in enumerate(ctx.get("source_volumes") or []):
            volume_uuid = clone_volume_uuid(ctx, index)
            volume = Volume.objects.filter(uuid=volume_uuid).first()
            path = volume.install_path if volume is not None else _clone_path(ctx, index, entry)
            host = _copier(ctx, entry) if ctx.get("host_uuid") else None
            if host is not None:
                agent.call(host, "/v1/volume/delete", {"path": path})
            if volume is not None:
                volume.delete()
        for key in ("clone_volumes", "root_volume_uuid", "root_volume_path", "root_volume_format"):
            delattr(ctx, key)


def _copier(ctx, entry):
    """The agent that copies ``entry``'s file: the clone's host (it mounts a shared storage; a local
    one is there), or another connected host that reaches the storage when it is not connected."""
    host = Host.objects.filter(uuid=ctx.host_uuid).first()
    ps = PrimaryStorage.objects.get(uuid=entry["primary_storage_uuid"])
    found = space.agent_host(ps, host)
    if found is None:
        raise CloudPortalError(f"no connected host reaches primary storage {ps.name}", code="HOST_NOT_CONNECTED",
                               status=409, details={"primary_storage_uuid": str(ps.uuid)})
    return found


def _copy_source(ctx, entry):
    """The file to copy: a live clone's snapshot file (read-only now), else the volume's own."""
    for item in ctx.get("snapshot_plan") or ():
        if item["volume_uuid"] == entry["uuid"]:
            return item["top"]
    return entry["path"]


def _image_pk(image_uuid):
    from apps.storage.models import Image

    return Image.objects.filter(uuid=image_uuid).values_list("pk", flat=True).first() if image_uuid else None


CLONE_VM = Flow("clone-vm", [
    RecordVm, CheckCloneSource, AllocateCloneHost, ReserveCloneStorage, WaitForSource, PlanLiveSnapshots,
    TakeLiveSnapshots, CopyVolumes, RemoveTemporarySnapshots, AllocateNicIps, RecordNics, ApplyDhcp,
    DefineOnHypervisor, MarkRunning,
], action="clone-vm", timeout=6 * 3600)

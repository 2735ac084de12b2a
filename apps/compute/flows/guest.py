"""Flows that change a VM's guest settings. Each records the change on the rows and, for a running
VM, applies it live through the agent (which also updates the domain's persistent definition); a
stopped VM only records it: its next start defines the domain from the rows (guest_define.py).
The remote call comes last or is undone by the step itself, so a failure leaves rows, capacity,
image cache references and the domain as they were.

The view checks state and limits first (``apps/compute/guest/plans.py``); the steps check again on the row.
"""
from apps.core.errors import CloudPortalError, InvalidState, Unplaceable
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.core.secrets import decrypt
from apps.storage import cache
from apps.storage.models import Image, Volume

from ..guest_define import ISO_TARGET, cache_path, iso_path
from ..models import VmInstance, VmNic, VmState
from .vm_common import connected_host, define_body, hypervisor, vm_of


def running(vm):
    return vm.state == VmState.RUNNING and vm.host_id is not None


def _live(ctx, vm, path, body, undo=False):
    """``path`` for the running VM on its host. An undo has a request id of its own: the agent
    answers a repeated id with the first answer (idempotency), and the undo is another request."""
    if not undo:
        return hypervisor(ctx, connected_host(vm.host), path, {"vm_uuid": str(vm.uuid), **body})
    from apps.infra import agent

    return agent.call(connected_host(vm.host), path, {"vm_uuid": str(vm.uuid), **body},
                      request_id=f"{ctx.job.uuid}:{path}:undo")


# --- ISO drive ---------------------------------------------------------------------------------------
def _iso_place(vm):
    """(primary storage, host) where the VM's ISO is cached: its root volume's, on its host."""
    host = vm.host or vm.last_host
    volume = vm.root_volume
    if host is None or volume is None:
        raise CloudPortalError("the VM has no host and root volume to cache an ISO for", code="VM_HAS_NO_HOST",
                               status=409)
    return volume.primary_storage, connected_host(host)


class HoldIso(RemoteStep):
    """The ISO is cached on the VM's host (downloaded once) and counted for this VM's drive."""

    def run(self, ctx):
        if ctx.get("iso_cache_id"):
            return
        vm = vm_of(ctx)
        ps, host = _iso_place(vm)
        image = Image.objects.get(uuid=ctx.args["image_uuid"])

        def record(row):
            ctx.iso_cache_id = row.pk

        cache.acquire(ps, host, image, request_id=f"{ctx.job.uuid}-cache-iso", on_counted=record)

    def rollback(self, ctx):
        if ctx.get("iso_cache_id"):
            cache.release(ctx.iso_cache_id)
            del ctx.iso_cache_id


class ChangeMedia(RemoteStep):
    """A running VM's drive gets the new media now (``iso_cache_id``'s file, or none: eject);
    undone by putting the previous media back."""

    def run(self, ctx):
        vm = vm_of(ctx)
        ctx.previous_iso_path = iso_path(vm)
        if running(vm):
            path = cache_path(ctx.get("iso_cache_id"))
            _live(ctx, vm, "/v1/vm/cdrom", {"target": ISO_TARGET, "path": path})
            ctx.media_changed = True

    def rollback(self, ctx):
        if ctx.get("media_changed"):
            vm = vm_of(ctx)
            _live(ctx, vm, "/v1/vm/cdrom", {"target": ISO_TARGET, "path": ctx.get("previous_iso_path")}, undo=True)
            del ctx.media_changed


class RecordIso(DbStep, NoRollback):
    """The VM's drive holds the new ISO (or none); the previous ISO's cache reference goes (also
    when it is the same cache: HoldIso counted the drive once more)."""

    def run(self, ctx):
        vm = VmInstance.objects.select_for_update().get(uuid=ctx.args["vm_uuid"])
        previous = vm.cdrom_cache_id
        image_uuid = ctx.args.get("image_uuid")
        vm.cdrom_image = Image.objects.get(uuid=image_uuid) if image_uuid else None
        vm.cdrom_cache_id = ctx.get("iso_cache_id")
        vm.has_cdrom = True
        vm.save(update_fields=["cdrom_image", "cdrom_cache_id", "has_cdrom", "updated_at"])
        if previous:
            cache.release(previous)
        ctx.result = {"vm_uuid": str(vm.uuid), "cdrom_image_uuid": image_uuid}


ATTACH_ISO = Flow("attach-iso", [HoldIso, ChangeMedia, RecordIso], action="attach-iso")
DETACH_ISO = Flow("detach-iso", [ChangeMedia, RecordIso], action="detach-iso")


# --- boot order, video, guest agent: the definition --------------------------------------------------
class RecordFields(DbStep):
    """``ctx.args["fields"]`` onto the VM's row; undone by writing back what was there."""

    def run(self, ctx):
        vm = VmInstance.objects.select_for_update().get(uuid=ctx.args["vm_uuid"])
        ctx.previous_fields = {name: getattr(vm, name) for name in ctx.args["fields"]}
        for name, value in ctx.args["fields"].items():
            setattr(vm, name, value)
        vm.save(update_fields=[*ctx.args["fields"], "updated_at"])

    def rollback(self, ctx):
        previous = ctx.get("previous_fields")
        if previous:
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(**previous)
            del ctx.previous_fields


class Redefine(RemoteStep, NoRollback):
    """The domain's persistent definition follows the rows now (a running VM uses it from its next
    boot); a stopped VM's domain is defined again at its start anyway. Last step: when it fails,
    defineXML changed nothing and RecordFields puts the row back."""

    def run(self, ctx):
        from apps.network.flows.vm_steps import nics_of

        vm = vm_of(ctx)
        if running(vm) and vm.root_volume is not None:
            volume = vm.root_volume
            hypervisor(ctx, connected_host(vm.host), "/v1/vm/define",
                       define_body(vm, nics_of(vm.uuid), volume.install_path, volume.format))
        ctx.result = {"vm_uuid": str(vm.uuid), **ctx.args["fields"], "live": False}


SET_BOOT_ORDER = Flow("set-boot-order", [RecordFields, Redefine], action="set-boot-order")


# --- password ------------------------------------------------------------------------------------------
class SetPassword(RemoteStep, NoRollback):
    """Through the QEMU guest agent (409 GUEST_AGENT_UNAVAILABLE when none answers). The password
    travels in the job's args encrypted (apps.core.secrets), never in its result or error."""

    def run(self, ctx):
        vm = vm_of(ctx)
        if not running(vm):
            raise InvalidState(f"VM {vm.name} is {vm.state}: a password is changed in a running guest",
                               details={"state": vm.state})
        _live(ctx, vm, "/v1/vm/password", {"user": ctx.args["user"], "password": decrypt(ctx.args["password"])})
        ctx.result = {"vm_uuid": str(vm.uuid), "user": ctx.args["user"], "changed": True}


CHANGE_PASSWORD = Flow("change-vm-password", [SetPassword], action="change-vm-password")


# --- vCPUs and memory ------------------------------------------------------------------------------------
class ReserveGrowth(DbStep):
    """A running VM holds its CPU and memory on its host: what it grows by is reserved first
    (one conditional UPDATE: 422 when the host has not got it)."""

    def run(self, ctx):
        vm = vm_of(ctx)
        ctx.cpu_before, ctx.memory_before = vm.cpu_num, vm.memory_size
        if not running(vm):
            return
        cpu = max(0, ctx.args.get("cpu_num", vm.cpu_num) - vm.cpu_num)
        memory = max(0, ctx.args.get("memory_size", vm.memory_size) - vm.memory_size)
        if (cpu or memory) and not vm.host.reserve(cpu, memory):
            raise Unplaceable(f"host {vm.host.name} has not {cpu} CPUs and {memory} bytes free for the VM to grow",
                              code="NO_HOST_CAPACITY", details={"host_uuid": str(vm.host.uuid)})
        ctx.reserved_growth = [cpu, memory, str(vm.host.uuid)]

    def rollback(self, ctx):
        held = ctx.get("reserved_growth")
        if held:
            from apps.infra.models import Host

            Host.objects.get(uuid=held[2]).release(held[0], held[1])
            del ctx.reserved_growth


class ApplyCpuMemory(RemoteStep):
    def run(self, ctx):
        vm = vm_of(ctx)
        if running(vm):
            _live(ctx, vm, "/v1/vm/cpu-memory", {k: ctx.args[k] for k in ("cpu_num", "memory_size") if k in ctx.args})
            ctx.applied_live = True

    def rollback(self, ctx):
        if ctx.get("applied_live"):
            vm = vm_of(ctx)
            _live(ctx, vm, "/v1/vm/cpu-memory", {"cpu_num": ctx.cpu_before, "memory_size": ctx.memory_before},
                  undo=True)
            del ctx.applied_live


class RecordCpuMemory(DbStep, NoRollback):
    """The row's new size; what a running VM shrank by goes back to its host."""

    def run(self, ctx):
        vm = VmInstance.objects.select_for_update().get(uuid=ctx.args["vm_uuid"])
        cpu, memory = ctx.args.get("cpu_num", vm.cpu_num), ctx.args.get("memory_size", vm.memory_size)
        held = ctx.get("reserved_growth")
        if held is not None:   # it ran when ReserveGrowth looked: the host it holds capacity on
            from apps.infra.models import Host

            Host.objects.get(uuid=held[2]).release(max(0, vm.cpu_num - cpu), max(0, vm.memory_size - memory))
        vm.cpu_num, vm.memory_size = cpu, memory
        # a stopped VM may change beyond its maximums: they follow
        vm.cpu_max = max(vm.cpu_max or 0, cpu) if vm.cpu_max else None
        vm.memory_max = max(vm.memory_max or 0, memory) if vm.memory_max else None
        vm.save(update_fields=["cpu_num", "memory_size", "cpu_max", "memory_max", "updated_at"])
        ctx.result = {"vm_uuid": str(vm.uuid), "cpu_num": cpu, "memory_size": memory, "live": bool(ctx.get("applied_live"))}


SET_CPU_MEMORY = Flow("set-vm-cpu-memory", [ReserveGrowth, ApplyCpuMemory, RecordCpuMemory],
                      action="set-vm-cpu-memory")


# --- QoS ---------------------------------------------------------------------------------------------------
class RecordQos(DbStep):
    """The volumes' and NICs' limits on their rows; undone by writing back the previous ones."""

    def run(self, ctx):
        previous = {"volumes": {}, "nics": {}}
        for uuid, limits in ctx.args.get("volumes", {}).items():
            volume = Volume.objects.select_for_update().get(uuid=uuid)
            previous["volumes"][uuid] = {"iops_limit": volume.iops_limit, "bandwidth_limit": volume.bandwidth_limit}
            Volume.objects.filter(pk=volume.pk).update(**limits)
        for uuid, limits in ctx.args.get("nics", {}).items():
            nic = VmNic.objects.select_for_update().get(uuid=uuid)
            previous["nics"][uuid] = {"inbound_bandwidth": nic.inbound_bandwidth,
                                      "outbound_bandwidth": nic.outbound_bandwidth}
            VmNic.objects.filter(pk=nic.pk).update(**limits)
        ctx.previous_qos = previous

    def rollback(self, ctx):
        previous = ctx.get("previous_qos")
        if previous:
            for uuid, limits in previous["volumes"].items():
                Volume.objects.filter(uuid=uuid).update(**limits)
            for uuid, limits in previous["nics"].items():
                VmNic.objects.filter(uuid=uuid).update(**limits)
            del ctx.previous_qos


class ApplyQos(RemoteStep, NoRollback):
    """Last step: when it fails RecordQos puts the rows back, and the limits the agent may have
    applied before the one that failed are set back to the rows' previous values here."""

    def run(self, ctx):
        from ..guest_define import bandwidth_of, iotune_of

        vm = vm_of(ctx)
        body = {"iotune": {}, "nic_bandwidth": {}}
        for volume in Volume.objects.filter(uuid__in=list(ctx.args.get("volumes", {}))):
            body["iotune"][volume.install_path] = {"total_iops_sec": 0, "total_bytes_sec": 0, **iotune_of(volume)}
        for nic in VmNic.objects.filter(uuid__in=list(ctx.args.get("nics", {}))):
            body["nic_bandwidth"][nic.mac] = {"inbound": 0, "outbound": 0, **bandwidth_of(nic)}
        live = running(vm)
        if live:
            try:
                _live(ctx, vm, "/v1/vm/qos", body)
            except CloudPortalError:
                self._put_back(ctx, vm, body)
                raise
        ctx.result = {"vm_uuid": str(vm.uuid), "live": live}

    @staticmethod
    def _put_back(ctx, vm, body):
        previous = ctx.get("previous_qos") or {"volumes": {}, "nics": {}}
        by_path = {v.install_path: str(v.uuid) for v in Volume.objects.filter(uuid__in=list(previous["volumes"]))}
        by_mac = {n.mac: str(n.uuid) for n in VmNic.objects.filter(uuid__in=list(previous["nics"]))}
        old = {"iotune": {}, "nic_bandwidth": {}}
        for path in body["iotune"]:
            limits = previous["volumes"].get(by_path.get(path), {})
            old["iotune"][path] = {"total_iops_sec": limits.get("iops_limit", 0),
                                   "total_bytes_sec": limits.get("bandwidth_limit", 0)}
        for mac in body["nic_bandwidth"]:
            limits = previous["nics"].get(by_mac.get(mac), {})
            old["nic_bandwidth"][mac] = {"inbound": limits.get("inbound_bandwidth", 0),
                                         "outbound": limits.get("outbound_bandwidth", 0)}
        try:
            _live(ctx, vm, "/v1/vm/qos", old, undo=True)
        except CloudPortalError:
            pass   # the next define (start) sets the rows' values anyway


SET_QOS = Flow("set-vm-qos", [RecordQos, ApplyQos], action="set-vm-qos")



# --- expunge ---------------------------------------------------------------------------------------------
class ReleaseGuestFiles(RemoteStep, NoRollback):
    """Expunge: the ISO drive's image cache reference and the config drive's file go with the VM
    (before its row: a retry finds the columns still set, and each part is idempotent)."""

    def run(self, ctx):
        vm = VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).select_related("host", "last_host").first()
        if vm is None:
            return
        if vm.config_drive_path:
            host = vm.host or vm.last_host
            if host is not None:
                try:
                    hypervisor(ctx, connected_host(host), "/v1/volume/delete", {"path": vm.config_drive_path})
                except CloudPortalError as exc:   # an unreachable host keeps a small stale file; the VM still goes
                    ctx.config_drive_left = {"host_uuid": str(host.uuid), "code": exc.code}
            VmInstance.objects.filter(pk=vm.pk).update(config_drive_path="")
        if vm.cdrom_cache_id:
            # the column cleared and the reference dropped in one transaction: counted once
            from django.db import transaction

            with transaction.atomic():
                if VmInstance.objects.filter(pk=vm.pk, cdrom_cache_id=vm.cdrom_cache_id).update(cdrom_cache_id=None):
                    cache.release(vm.cdrom_cache_id)

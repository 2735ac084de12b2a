"""Steps of the VM create flow (vm_create.py) for guest settings, before the define:

    ... CreateRootVolume -> AllocateNicIps -> RecordNics -> RecordCreateQos -> ApplyDhcp
    -> HoldInstallIso -> BuildConfigDrive -> DefineOnHypervisor ...

(RecordCreateQos beside RecordNics: one transaction and job write for both.)

Create args read (all optional): ``install_iso`` (the image is an ISO: it also goes in the drive),
``root_iops_limit``, ``root_bandwidth_limit``, ``inbound_bandwidth``, ``outbound_bandwidth`` (every
NIC), and ``config_drive`` (the VM row's hostname, user_data and ssh_keys say what it holds).
"""
import json
import re

from apps.core.flows import DbStep, RemoteStep
from apps.infra import agent
from apps.infra.flow_context import ctx_host
from apps.storage import cache
from apps.storage.flows.vm_steps import ctx_primary_storage, ctx_image
from apps.storage.models import Volume

from ..models import VmInstance, VmNic


def vm_row(ctx):
    """The VM's row the create flow read (flows/vm_create.py keeps it under this key): the define
    reads it, so a column written here is set on it too."""
    return ctx.cached(("vm", str(ctx.args["vm_uuid"])), lambda: VmInstance.objects.get(uuid=ctx.args["vm_uuid"]))


class HoldInstallIso(RemoteStep):
    """A VM created from an ISO boots it from its drive: the drive counts its own reference to the
    cache the root volume's step fetched (no second download), so detaching the ISO later leaves
    the root volume's reference alone."""

    def run(self, ctx):
        if not ctx.args.get("install_iso") or ctx.get("install_iso_cache_id"):
            return

        def record(row):
            ctx.install_iso_cache_id = row.pk

        cache.acquire(ctx_primary_storage(ctx), ctx_host(ctx), ctx_image(ctx),
                      request_id=f"{ctx.job.uuid}-cache-install-iso", on_counted=record)
        VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(cdrom_cache_id=ctx.install_iso_cache_id)
        vm_row(ctx).cdrom_cache_id = ctx.install_iso_cache_id

    def rollback(self, ctx):
        if ctx.get("install_iso_cache_id"):
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(cdrom_cache_id=None)
            cache.release(ctx.install_iso_cache_id)
            del ctx.install_iso_cache_id


class RecordCreateQos(DbStep):
    """The root volume's I/O limits and the NICs' bandwidth, on their rows (the define reads them).
    Its rollback has nothing of its own to undo: the rows go with RecordNics' and CreateRootVolume's."""

    def run(self, ctx):
        args = ctx.args
        limits = {k: args[f"root_{k}"] for k in ("iops_limit", "bandwidth_limit") if args.get(f"root_{k}")}
        if limits:
            Volume.objects.filter(uuid=ctx.root_volume_uuid).update(**limits)
        bandwidth = {f"{k}_bandwidth": args[f"{k}_bandwidth"] for k in ("inbound", "outbound")
                     if args.get(f"{k}_bandwidth")}
        if bandwidth:
            VmNic.objects.filter(vm_instance__uuid=args["vm_uuid"]).update(**bandwidth)

    def rollback(self, ctx):
        pass


def config_drive_path(ps, vm_uuid):
    return f"{ps.url.rstrip('/')}/configDrives/{vm_uuid}/cidata.iso"


def hostname_from(name):
    """A VM's name as a hostname (letters, digits and '-', at most 63), for a VM given none."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-")[:63].strip("-") or "vm"


def drive_contents(vm, instance_id=None):
    """user-data, meta-data and what the agent needs: SSH keys go in meta-data's ``public-keys``
    (cloud-init's NoCloud reads them there), so a user's own user-data needs no merging.
    ``instance_id``: the VM's uuid unless given (a rebuilt drive's changes with its contents)."""
    keys = [line.strip() for line in vm.ssh_keys.splitlines() if line.strip()]
    meta = {"instance-id": instance_id or str(vm.uuid), "local-hostname": vm.hostname or hostname_from(vm.name)}
    if keys:
        meta["public-keys"] = keys
    user_data = vm.user_data or "#cloud-config\n" + json.dumps({"hostname": meta["local-hostname"]}) + "\n"
    return {"user_data": user_data, "meta_data": meta}


class BuildConfigDrive(RemoteStep):
    """The NoCloud config drive on the root volume's primary storage (the agent builds it); its
    path on the VM row. Undone by removing the file and the path."""

    def run(self, ctx):
        if not ctx.args.get("config_drive") or ctx.get("config_drive_path"):
            return
        vm = vm_row(ctx)
        path = config_drive_path(ctx_primary_storage(ctx), vm.uuid)
        agent.call(ctx_host(ctx), "/v1/vm/config-drive", {"path": path, **drive_contents(vm)},
                   request_id=f"{ctx.job.uuid}-config-drive")
        ctx.config_drive_path = path
        VmInstance.objects.filter(pk=vm.pk).update(config_drive_path=path)
        vm.config_drive_path = path

    def rollback(self, ctx):
        path = ctx.get("config_drive_path") or (
            config_drive_path(ctx_primary_storage(ctx), ctx.args["vm_uuid"])
            if ctx.args.get("config_drive") and ctx.get("primary_storage_uuid") else None)
        if path:
            agent.call(ctx_host(ctx), "/v1/volume/delete", {"path": path})
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(config_drive_path="")
        if ctx.get("config_drive_path"):
            del ctx.config_drive_path


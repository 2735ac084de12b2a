"""Changing a stopped VM's cloud-init settings (hostname, SSH keys, user data): the row takes the
new values and the agent rebuilds the NoCloud config drive the VM boots with.

    RecordCloudInit -> SwapConfigDrive -> DropOldConfigDrive

The old drive is set aside by renaming it (``cidata.iso.old``) and the new one built at the same
path, so the domain's definition does not change; a failure renames the old one back (exact, with
its own instance-id). The new drive's ``instance-id`` is the VM's uuid and a digest of what it
holds: cloud-init sees a new instance at the next boot and applies the settings again (as Proxmox
does); the same settings give the same id. A VM that had no drive gets one (its next start defines
the domain from the row, which names it now).

Args: vm_uuid, and any of hostname, ssh_keys (newline-separated), user_data (encrypted: it may
carry passwords, and a job's args are kept).
"""
import hashlib
import json

from apps.core.errors import CloudPortalError, InvalidState
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.core.secrets import decrypt, encrypt
from apps.infra import agent
from apps.infra.models import Host
from apps.storage import space

from ..models import VmInstance, VmState
from .guest_create import config_drive_path, drive_contents
from .vm_common import connected_host

FIELDS = ("hostname", "ssh_keys", "user_data")


def instance_id(vm):
    digest = hashlib.sha256(json.dumps([vm.hostname, vm.ssh_keys, vm.user_data]).encode()).hexdigest()[:12]
    return f"{vm.uuid}-{digest}"


def _host(vm):
    """The host whose agent reaches the VM's root volume's storage (local: the VM's last host)."""
    volume = vm.root_volume
    host = space.host_for(volume) if volume is not None else None
    if host is None:
        raise CloudPortalError("no host reaches the VM's root volume to build its config drive", code="VM_HAS_NO_HOST",
                               status=409, details={"vm_uuid": str(vm.uuid)})
    return connected_host(host)


class RecordCloudInit(DbStep):
    """The new values on the row (the VM checked Stopped again); undone by writing the old back."""

    def run(self, ctx):
        vm = VmInstance.objects.select_for_update().get(uuid=ctx.args["vm_uuid"])
        if vm.state != VmState.STOPPED:
            raise InvalidState(f"VM {vm.name} is {vm.state}: cloud-init settings change on a stopped VM",
                               details={"state": vm.state})
        ctx.previous_cloud_init = {"hostname": vm.hostname, "ssh_keys": vm.ssh_keys,
                                   "user_data": encrypt(vm.user_data), "config_drive_path": vm.config_drive_path}
        changed = {k: ctx.args[k] for k in FIELDS if k in ctx.args}
        if "user_data" in changed:
            changed["user_data"] = decrypt(changed["user_data"])
        for name, value in changed.items():
            setattr(vm, name, value)
        vm.save(update_fields=[*changed, "updated_at"])

    def rollback(self, ctx):
        previous = ctx.get("previous_cloud_init")
        if previous:
            VmInstance.objects.filter(uuid=ctx.args["vm_uuid"]).update(
                **{**previous, "user_data": decrypt(previous["user_data"])})
            del ctx.previous_cloud_init


class SwapConfigDrive(RemoteStep):
    """The old drive renamed aside, the new one built at its path (or at the storage's drive path)."""

    def run(self, ctx):
        vm = VmInstance.objects.select_related("root_volume__primary_storage").get(uuid=ctx.args["vm_uuid"])
        host = _host(vm)
        old = ctx.previous_cloud_init["config_drive_path"]
        path = old or config_drive_path(vm.root_volume.primary_storage, vm.uuid)
        ctx.config_drive = {"host_uuid": str(host.uuid), "path": path, "had_old": bool(old)}
        if old:
            agent.call(host, "/v1/volume/rename", {"src": path, "dst": f"{path}.old"},
                       request_id=f"{ctx.job.uuid}:set-aside")
        agent.call(host, "/v1/vm/config-drive", {"path": path, **drive_contents(vm, instance_id(vm))},
                   request_id=f"{ctx.job.uuid}:config-drive")
        VmInstance.objects.filter(pk=vm.pk).update(config_drive_path=path)

    def rollback(self, ctx):
        drive = ctx.get("config_drive")
        if not drive:
            return
        host = connected_host(Host.objects.get(uuid=drive["host_uuid"]))
        if drive["had_old"]:
            # the old drive over the new one (a no-op when it was never set aside)
            agent.call(host, "/v1/volume/rename", {"src": f"{drive['path']}.old", "dst": drive["path"]},
                       request_id=f"{ctx.job.uuid}:put-back")
        else:
            agent.call(host, "/v1/volume/delete", {"path": drive["path"]})
        del ctx.config_drive


class DropOldConfigDrive(RemoteStep, NoRollback):
    """The old drive goes; a host that cannot remove it now keeps a small file (named in the result)."""

    def run(self, ctx):
        drive = ctx.config_drive
        ctx.result = {"vm_uuid": ctx.args["vm_uuid"], "config_drive_path": drive["path"],
                      "changed": sorted(k for k in FIELDS if k in ctx.args)}
        if not drive["had_old"]:
            return
        try:
            agent.call(Host.objects.get(uuid=drive["host_uuid"]), "/v1/volume/delete", {"path": f"{drive['path']}.old"})
        except CloudPortalError as exc:
            ctx.result["left"] = {"path": f"{drive['path']}.old", "code": exc.code}


SET_CLOUD_INIT = Flow("set-vm-cloud-init", [RecordCloudInit, SwapConfigDrive, DropOldConfigDrive],
                      action="set-vm-cloud-init")

"""What the VM flows share: loading the VM, state transitions, hypervisor calls."""
import copy

from django.db import transaction

from apps.core.errors import CloudPortalError

from apps.infra import agent
from apps.infra.models import Host, HostStatus

from ..models import VM_STATE_MACHINE, VmInstance


class HostDisconnected(CloudPortalError):
    status = 409
    code = "HOST_DISCONNECTED"


def vm_of(ctx):
    return VmInstance.objects.select_related("host", "last_host").get(uuid=ctx.args["vm_uuid"])


def fire(vm_uuid, event, release=None, **fields):
    """Move the VM through VM_STATE_MACHINE (``InvalidState`` 409 when the table forbids it) and
    save ``fields`` with it, under a row lock (inside a flow's transaction, without a savepoint).
    ``release``: the flow context of the job holding the VM (``busy_job``), whose claim ends in the
    same UPDATE (``Context.resource_released``; for the step that finishes the job)."""
    with transaction.atomic(savepoint=False):
        vm = locked_vm(vm_uuid)
        vm.state = VM_STATE_MACHINE.next(vm.state, event)
        if release is not None and vm.busy_job == release.job.uuid:
            fields["busy_job"] = None
            release.resource_released()
        for key, value in fields.items():
            setattr(vm, key, value)
        vm.save(update_fields=["state", "updated_at", *fields])
    return vm


def fire_as_read(vm, event, release=None, **fields):
    """``fire`` for ``vm``, a row this job read earlier without a lock: one UPDATE on condition
    that the row still holds the state read (and, with ``release``, this job's claim), instead of
    a locked read and then the UPDATE. When it does not (the state was changed meanwhile, by a
    state sync say), ``fire`` as usual decides on the row as it is. Returns the VM as saved; the
    row given is left as it was read."""
    try:
        state = VM_STATE_MACHINE.next(vm.state, event)
    except CloudPortalError:  # not from the state read: perhaps from the state the row has now
        return fire(vm.uuid, event, release=release, **fields)
    row = copy.copy(vm)
    row.state = state
    expect = {"state": vm.state}
    written = dict(fields)
    if release is not None:
        expect["busy_job"] = release.job.uuid
        written["busy_job"] = None
    for key, value in written.items():
        setattr(row, key, value)
    if not row.save_if(expect, update_fields=["state", "updated_at", *written]):
        return fire(vm.uuid, event, release=release, **fields)
    if release is not None:
        release.resource_released()
    return row


def locked_vm(vm_uuid):
    """The VM's row, locked until the transaction ends (VmInstance.DoesNotExist when it is gone)."""
    return VmInstance.objects.select_for_update().get(uuid=vm_uuid)


def connected_host(host):
    """``host`` if its agent is Connected; else a 409 naming the host and its status."""
    if host is None:
        raise CloudPortalError("the VM has no host", code="VM_HAS_NO_HOST", status=409)
    if host.status != HostStatus.CONNECTED:
        raise HostDisconnected(f"host {host.name} ({host.uuid}) is {host.status}: the VM cannot be reached",
                               details={"host_uuid": str(host.uuid), "status": host.status})
    return host


def hypervisor(ctx, host, path, body, timeout=None):
    """One call to ``host``'s agent, idempotent across retries of this job's step."""
    return agent.call(host, path, body, timeout=timeout,
                      request_id=f"{ctx.job.uuid}:{path}:{body.get('vm_uuid', '')}")


def ignore_missing(call):
    """Rollbacks: a domain that is already gone is what the rollback wanted."""
    try:
        return call()
    except CloudPortalError as exc:
        if exc.code != "VM_NOT_FOUND":
            raise
        return None


def host_by_uuid(uuid):
    return Host.objects.select_related("cluster").get(uuid=uuid)


def define_body(vm, nics, disk_path, disk_format):
    """The agent's /v1/vm/define request: size, root disk, NICs on their bridges, VNC with the
    VM's console password, and what the define parts add (define_parts.py)."""
    from ..console.password import vnc_define_fields
    from ..define_parts import apply_parts

    return apply_parts(vm, {
        "vm_uuid": str(vm.uuid), "name": vm.name, "cpu_num": vm.cpu_num, "memory_size": vm.memory_size,
        "disk_path": disk_path, "disk_format": disk_format,
        "nics": [{"mac": nic["mac"], "bridge": nic["bridge"]} for nic in nics],
        **vnc_define_fields(vm),
    })

"""How the volume API's actions that involve a VM are planned (registered in
apps.storage.data_volumes.VM_VOLUME_PLANS: storage cannot import compute). Each checks the rules
without locks, so a wrong state is a 409 at once; the flow checks them again under the locks."""
from apps.core.errors import NotFound, ResourceBusy
from apps.core.tenancy import visible, visible_by_uuid

from .flows import ATTACH_DATA_VOLUME, DELETE_ATTACHED_DATA_VOLUME, DETACH_DATA_VOLUME, RESIZE_VOLUME
from .flows.volume_attach import check_attach, check_detach
from .models import VmInstance


def _vm(uuid, user):
    vm = visible_by_uuid(VmInstance.objects.all(), uuid, user, related=("host", "last_host"))
    if vm is NotImplemented:
        vm = visible(VmInstance.objects.select_related("host", "last_host"), user).filter(uuid=uuid).first()
    if vm is None:
        raise NotFound(f"VM {uuid} not found", details={"vm_instance_uuid": str(uuid)})
    return vm


def _not_busy(vm):
    """A VM another job holds is a 409 now, not a job that fails at its first step."""
    if vm is not None and vm.busy_job:
        raise ResourceBusy(f"VmInstance {vm.uuid} is busy with job {vm.busy_job}",
                           details={"job_uuid": str(vm.busy_job), "resource_uuid": str(vm.uuid)})


def plan_attach(volume, data, user):
    vm = _vm(data["vm_instance_uuid"], user)
    check_attach(volume, vm)
    _not_busy(vm)
    return ATTACH_DATA_VOLUME, {"volume_uuid": str(volume.uuid), "vm_uuid": str(vm.uuid)}


def _attached_vm(volume):
    return VmInstance.objects.select_related("host", "last_host").filter(uuid=volume.vm_instance_uuid).first()


def plan_detach(volume, data, user):
    check_detach(volume, None)
    vm = _attached_vm(volume)
    check_detach(volume, vm)
    _not_busy(vm)
    return DETACH_DATA_VOLUME, {"volume_uuid": str(volume.uuid), "vm_uuid": str(volume.vm_instance_uuid)}


def plan_delete_attached(volume, data, user):
    flow, args = plan_detach(volume, data, user)
    return DELETE_ATTACHED_DATA_VOLUME, args


def plan_resize(volume, data, user):
    from apps.storage.data_volumes import check_grow

    check_grow(volume, data["size"])
    return RESIZE_VOLUME, {"volume_uuid": str(volume.uuid), "size": data["size"]}


def register():
    from apps.storage.data_volumes import VM_VOLUME_PLANS

    VM_VOLUME_PLANS.update({"attach": plan_attach, "detach": plan_detach, "resize": plan_resize,
                            "delete-attached": plan_delete_attached})

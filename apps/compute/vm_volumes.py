"""What compute tells storage about a VM's volumes (storage does not import compute)."""
from apps.core.errors import Conflict

from .models import VmInstance, VmState

# a VM in these states has no domain writing to its disks
QUIET_STATES = (VmState.STOPPED, VmState.DESTROYED)


def refuse_volume_of_running_vm(volume):
    """409 for a volume whose VM may be writing it: an image of it would not be consistent."""
    if not volume.vm_instance_uuid:
        return
    vm = VmInstance.objects.filter(uuid=volume.vm_instance_uuid).only("name", "state", "uuid").first()
    if vm is not None and vm.state not in QUIET_STATES:
        raise Conflict(f"volume {volume.name} belongs to VM {vm.name}, which is {vm.state}: stop the VM, or snapshot "
                       "the volume and make the image from the snapshot", code="VOLUME_IN_USE",
                       details={"vm_uuid": str(vm.uuid), "state": vm.state})

"""What a data volume is to a guest, and the rules every volume operation checks first.

The API (views), the flows (under a row lock, again) and compute's attach flow read these, so a
rule is written once. Hooks: compute registers in ``VM_VOLUME_PLANS`` how an action that involves
a VM (attach, detach, resize, delete of an attached volume) is planned, because storage may not
import compute (the dependency points the other way).
"""
from apps.core.errors import CloudPortalError, InvalidArgument, InvalidState

from .errors import VolumeAttached
from .models import VolumeStatus, VolumeType

# "attach" | "detach" | "resize" | "delete-attached" -> fn(volume, data, user) -> (flow, args);
# filled by apps.compute (apps/compute/volume_plans.py) when it is ready
VM_VOLUME_PLANS = {}


def plan(name, volume, data, user):
    fn = VM_VOLUME_PLANS.get(name)
    if fn is None:   # compute is not installed: nothing can attach a volume
        raise CloudPortalError(f"volume action {name} needs the compute app", code="NOT_SUPPORTED", status=501)
    return fn(volume, data, user)


DATA_BUSES = ("virtio", "scsi")
# virtio data disks start after the root disk (vda); SCSI ones at sda (their own controller)
_FIRST = {"virtio": "vdb", "scsi": "sda"}


def first_free_target(bus, used):
    """The lowest device name of ``bus`` not in ``used`` (vdb, vdc, ... vdz, vdaa...)."""
    prefix = _FIRST[bus][:2]
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [prefix + a for a in letters] + [prefix + a + b for a in letters for b in letters]
    start = names.index(_FIRST[bus])
    return next(name for name in names[start:] if name not in used)


def serial_of(volume_uuid):
    """The disk serial the guest sees (/dev/disk/by-id/virtio-<serial>): the volume uuid's first
    20 hex digits (QEMU keeps 20 characters), so it never changes while the volume lives."""
    return str(volume_uuid).replace("-", "")[:20]


def wwn_of(volume_uuid):
    """A SCSI disk's World Wide Name: NAA type 5 and 15 hex digits of the volume uuid."""
    return "5" + str(volume_uuid).replace("-", "")[-15:]


def check_data_volume(volume):
    if volume.type != VolumeType.DATA:
        raise InvalidState(f"volume {volume.name} is a {volume.type} volume: only data volumes do this",
                           code="VOLUME_NOT_DATA", details={"volume_uuid": str(volume.uuid), "type": volume.type})


def check_attachable(volume):
    """A detached data volume, Ready or NotInstantiated (409 naming what it is otherwise)."""
    check_data_volume(volume)
    if volume.status not in (VolumeStatus.READY, VolumeStatus.NOT_INSTANTIATED):
        raise InvalidState(f"volume {volume.name} is {volume.status}: only a Ready or NotInstantiated volume "
                           "can be attached", details={"volume_uuid": str(volume.uuid), "status": volume.status})
    if volume.vm_instance_uuid is not None:
        raise VolumeAttached(f"volume {volume.name} is attached to VM {volume.vm_instance_uuid} already",
                             details={"volume_uuid": str(volume.uuid), "vm_uuid": str(volume.vm_instance_uuid)})


def check_grow(volume, size):
    if not isinstance(size, int) or isinstance(size, bool) or size <= volume.size:
        raise InvalidArgument(f"size must be larger than the volume's {volume.size} bytes: a volume only grows",
                              code="VOLUME_SHRINK_REFUSED", details={"size": [f"more than {volume.size}"]})
    if volume.status not in (VolumeStatus.READY, VolumeStatus.NOT_INSTANTIATED):
        raise InvalidState(f"volume {volume.name} is {volume.status}: only a Ready or NotInstantiated volume "
                           "can be resized", details={"volume_uuid": str(volume.uuid), "status": volume.status})


def disk_of(volume):
    """The ``disks`` entry (hostagent/backends/disks.py) of an attached data volume; its path is
    read from the row as it is now (snapshots move ``install_path`` to the top of the chain)."""
    disk = {"path": volume.install_path, "format": volume.format, "device": "disk", "bus": volume.bus,
            "target": volume.device_target, "serial": serial_of(volume.uuid)}
    if volume.bus == "scsi":
        disk["wwn"] = wwn_of(volume.uuid)
    return disk

"""The define part of data volumes: every define (create, start, migrate...) gives the domain the
VM's attached Ready data volumes, in a stable order (their targets), each with its serial and,
on SCSI, its WWN, so a stopped VM's attach takes effect at its next start and a redefined domain
keeps the guest's device names. Registered by define_parts.py (importing it from here would
be a cycle between the two modules)."""
from apps.storage.data_volumes import disk_of
from apps.storage.models import Volume, VolumeStatus, VolumeType


def _order(volume):
    # vdb < vdc < ... < vdz < vdaa: shorter names first, then by name
    return (volume.bus, len(volume.device_target), volume.device_target)


def data_volumes(vm, body):
    volumes = list(Volume.objects.filter(vm_instance_uuid=vm.uuid, type=VolumeType.DATA,
                                         status=VolumeStatus.READY).exclude(device_target=""))
    if volumes:
        body.setdefault("disks", []).extend(disk_of(volume) for volume in sorted(volumes, key=_order))

"""The guest settings of a VM's define body (registered in apps/compute/define_parts.py, which
imports this module: it does not import that one back): rows only, no host.

The CD-ROMs take fixed SATA targets, the last units of the first AHCI controller: the live
media change names its drive by them, libvirt needs no extra controller, and other disks'
automatic targets (sda, sdb...) go around them.
"""
from apps.storage.models import ImageCache, Volume

ISO_TARGET = "sdf"
CONFIG_DRIVE_TARGET = "sde"


def cache_path(cache_id):
    """The file of image cache ``cache_id`` on its host (None: no cache, or gone)."""
    if not cache_id:
        return None
    return ImageCache.objects.filter(pk=cache_id).values_list("install_path", flat=True).first()


def iso_path(vm):
    return cache_path(vm.cdrom_cache_id)


def iotune_of(volume):
    limits = {}
    if volume.iops_limit:
        limits["total_iops_sec"] = volume.iops_limit
    if volume.bandwidth_limit:
        limits["total_bytes_sec"] = volume.bandwidth_limit
    return limits


def bandwidth_of(nic):
    return {key: getattr(nic, f"{key}_bandwidth") for key in ("inbound", "outbound") if getattr(nic, f"{key}_bandwidth")}


def guest_settings(vm, body):
    body["video"] = vm.video_type or "vga"
    body["guest_agent"] = bool(vm.guest_agent)
    if vm.cpu_max and vm.cpu_max > vm.cpu_num:
        body["cpu_max"] = vm.cpu_max
    if vm.memory_max and vm.memory_max > vm.memory_size:
        body["memory_max"] = vm.memory_max
    if vm.boot_order:
        body["boot"] = vm.boot_order.split(",")
    disks = body.setdefault("disks", [])
    if vm.has_cdrom:
        disks.append({"device": "cdrom", "bus": "sata", "target": ISO_TARGET, "path": iso_path(vm)})
    if vm.config_drive_path:
        disks.append({"device": "cdrom", "bus": "sata", "target": CONFIG_DRIVE_TARGET, "path": vm.config_drive_path})
    # QoS of the disks in the body so far (the root disk, and data disks of parts imported earlier)
    paths = {body.get("disk_path")} | {disk.get("path") for disk in disks}
    paths.discard(None)
    iotune = {}
    for volume in Volume.objects.filter(vm_instance_uuid=vm.uuid, install_path__in=paths).exclude(
            iops_limit=0, bandwidth_limit=0).only("install_path", "iops_limit", "bandwidth_limit"):
        iotune[volume.install_path] = iotune_of(volume)
    if iotune:
        body["iotune"] = iotune
    macs = {nic["mac"] for nic in body.get("nics", [])}
    bandwidth = {nic.mac: bandwidth_of(nic) for nic in vm.nics.exclude(inbound_bandwidth=0, outbound_bandwidth=0)
                 if nic.mac in macs}
    if bandwidth:
        body["nic_bandwidth"] = bandwidth

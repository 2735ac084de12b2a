"""Compute's console pages (apps.core.ui): instance offerings and VMs."""
from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages

from .views import InstanceOfferingViewSet, VmInstanceViewSet
from .vm_clone_api import VmCloneFormSerializer
from .migration_pages import MigrateForm, VmActionView
from .vm_pages import OpenConsoleView, VmCreateView, VmDetailView, hypervisor_cell, nic_ips


class InstanceOfferingPages(ResourcePages):
    viewset = InstanceOfferingViewSet
    menu = (_("Compute"), _("Instance offerings"))
    order = 20
    columns = ["name", "cpu_num", "memory_size", "allocator_strategy", "state", "created_at"]
    fields = ["name", "description", "cpu_num", "memory_size", "cpu_speed", "allocator_strategy", "sort_key"]
    actions = ["enable", "disable", "delete"]
    sizes = ["memory_size"]
    labels = {"cpu_num": _("CPUs"), "memory_size": _("Memory"), "cpu_speed": _("CPU speed (MHz)"),
              "allocator_strategy": _("Allocator strategy"), "sort_key": _("Sort key")}
    search_example = "cpu_num>=2"


class VmInstancePages(ResourcePages):
    viewset = VmInstanceViewSet
    basename = "vm-instances"
    menu = (_("Compute"), _("Virtual machines"))
    order = 19
    columns = ["name", "state", "hypervisor_type", "host_uuid", "nics", "cpu_num", "memory_size", "created_at"]
    row_fields = ["cloud_zone_id"]     # the hypervisor cell shows a cloud's zone
    fields = ["name", "description", "ha_level", "video_type", "guest_agent"]   # edit; create is the wizard (VmCreateView)
    detail_fields = ["uuid", "name", "description", "state", "cpu_num", "memory_size", "host_uuid", "last_host_uuid",
                     "cluster_uuid", "zone_uuid", "image_uuid", "root_volume_uuid", "instance_offering_uuid",
                     "account_uuid", "platform", "hypervisor_type", "cloud_zone_id", "allocator_strategy", "created_at",
                     "updated_at", "destroyed_at", "ha_level", "cpu_max", "memory_max", "boot_order",
                     "video_type", "guest_agent", "has_cdrom", "hostname"]
    actions = ["start", "stop", "reboot", "pause", "resume", "power-off",
               Action("delete", _("Destroy"), destructive=True), "recover", "expunge",
               Action("clone", _("Clone"), body=VmCloneFormSerializer),
               Action("reinit", _("Reinit to image"), destructive=True, bulk=False),
               Action("migrate", _("Migrate"), body=MigrateForm, destructive=False, admin_only=True),
               # guest settings (apps/compute/guest/plans.py): each a form of its body
               Action("attach-iso", _("Attach ISO")), Action("detach-iso", _("Detach ISO")),
               Action("set-boot-order", _("Boot order")), Action("change-password", _("Change password")),
               Action("set-cpu-memory", _("Change CPU/memory")), Action("set-qos", _("QoS")),
               Action("set-cloud-init", _("Cloud-init settings"))]
    labels = {"cpu_num": _("CPUs"), "memory_size": _("Memory"), "host_uuid": _("Host"),
              "last_host_uuid": _("Last host"), "nics": _("IP addresses"), "image_uuid": _("Image"),
              "root_volume_uuid": _("Root volume"), "instance_offering_uuid": _("Instance offering"),
              "l3_network_uuids": _("L3 networks"), "static_ips": _("Static IPs"), "count": _("How many"),
              "start": _("Start once created"), "root_disk_size": _("Root disk size"),
              "allocator_strategy": _("Allocator strategy"), "platform": _("Platform"),
              "hypervisor_type": _("Hypervisor"), "destroyed_at": _("Destroyed at"),
              "cloud_zone_id": _("Cloud zone"), "identity_zone_uuid": _("Cloud zone (instead of a local host)"),
              "ha_level": _("HA level"),
              "hostname": _("Hostname"), "ssh_keys": _("SSH public keys"), "user_data": _("User data (cloud-init)"),
              "video_type": _("Video"), "guest_agent": _("QEMU guest agent"), "boot_order": _("Boot order"),
              "cpu_max": _("Most CPUs while running"), "memory_max": _("Most memory while running"),
              "root_iops_limit": _("Root disk IOPS limit"), "root_bandwidth_limit": _("Root disk bandwidth limit"),
              "inbound_bandwidth": _("Inbound bandwidth"), "outbound_bandwidth": _("Outbound bandwidth"),
              "has_cdrom": _("CD-ROM drive"), "image_uuid_iso": _("ISO image"), "user": _("User"),
              "password": _("Password"), "iops_limit": _("IOPS limit"), "bandwidth_limit": _("Bandwidth limit")}
    cells = {"nics": nic_ips, "hypervisor_type": hypervisor_cell}
    sizes = ["memory_size", "root_disk_size", "memory_max"]   # the create wizard's
    related = [Related("volumes", "vm_instance_uuid", label=_("Volumes"))]
    search_example = "state=Running"
    detail_template = "compute/vm_detail.html"
    views = {"form": VmCreateView, "detail": VmDetailView, "action": VmActionView}

    @classmethod
    def extra_urls(cls):
        return [path("<uuid:uuid>/console/", OpenConsoleView.as_view(), name="vm-open-console")]


from apps.storage.snapshot_ui import add_console_actions  # noqa: E402

add_console_actions(vm_pages=VmInstancePages)   # "Snapshot": every volume of the VM at once (docs/snapshots.md)

"""Infrastructure's console pages (apps.core.ui): zones, clusters, hosts."""
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Choice, Related, ResourcePages

from .views import ClusterViewSet, HostViewSet, ZoneViewSet

LABELS = {"zone_uuid": _("Zone"), "cluster_uuid": _("Cluster"), "hypervisor_type": _("Hypervisor"),
          "management_ip": _("Management IP"), "ssh_port": _("SSH port"), "username": _("User name"),
          "password": _("Password"), "private_key": _("Private key"), "agent_port": _("Agent port"),
          "agent_version": _("Agent version"), "status": _("Status"), "cpu_num": _("CPUs"),
          "memory_size": _("Memory"), "total_cpu": _("Total CPUs"), "available_cpu": _("Available CPUs"),
          "total_memory": _("Total memory"), "available_memory": _("Available memory"),
          "used_cpu": _("Used CPUs"), "used_memory": _("Used memory"), "reserved_cpu": _("Reserved CPUs"),
          "reserved_memory": _("Reserved memory"), "last_ping_at": _("Last ping"), "facts": _("Facts")}


class ZonePages(ResourcePages):
    viewset = ZoneViewSet
    menu = (_("Infrastructure"), _("Zones"))
    order = 10
    columns = ["name", "state", "created_at"]
    fields = ["name", "description"]
    actions = ["enable", "disable", Action("delete", destructive=True)]
    related = [Related("clusters", "zone_uuid", label=_("Clusters"))]
    labels = LABELS
    search_example = "state=Enabled"


class ClusterPages(ResourcePages):
    viewset = ClusterViewSet
    menu = (_("Infrastructure"), _("Clusters"))
    order = 11
    columns = ["name", "zone_uuid", "hypervisor_type", "state", "created_at"]
    fields = ["name", "description", "zone_uuid", "hypervisor_type"]
    actions = ["enable", "disable", Action("delete", destructive=True)]
    related = [Related("hosts", "cluster_uuid", label=_("Hosts"))]
    labels = LABELS
    search_example = "hypervisor_type=KVM"


class HostPages(ResourcePages):
    viewset = HostViewSet
    menu = (_("Infrastructure"), _("Hosts"))
    order = 12
    columns = ["name", "cluster_uuid", "hypervisor_type", "status", "state", "available_cpu", "available_memory"]
    # Simulator hosts take cpu_num and memory_size; KVM hosts an address and one of password or key
    fields = ["name", "description", "cluster_uuid", "hypervisor_type", "management_ip", "ssh_port", "username",
              Choice("ssh_login", _("SSH login"), [("password", _("Password")), ("private_key", _("Private key"))]),
              "password", "private_key", "agent_port", "cpu_num", "memory_size"]
    show_when = {
        **{name: {"hypervisor_type": ["Simulator"]} for name in ("cpu_num", "memory_size")},
        **{name: {"hypervisor_type": ["KVM"]} for name in ("management_ip", "ssh_port", "username", "ssh_login",
                                                            "agent_port")},
        "password": {"hypervisor_type": ["KVM"], "ssh_login": ["password"]},
        "private_key": {"hypervisor_type": ["KVM"], "ssh_login": ["private_key"]},
    }
    sizes = ["memory_size"]
    after_create = "job"   # adding a host is a job whose steps are worth watching
    actions = ["reconnect", "enable", "disable", Action("maintain", _("Maintenance")),
               Action("cancel-maintenance", _("Cancel maintenance")), Action("delete", destructive=True)]
    related = [Related("volumes", "host_uuid", label=_("Volumes"))]   # on its local storage
    labels = LABELS
    search_example = "status=Disconnected"

"""Network's console pages (apps.core.ui): L2 and L3 networks."""
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages
from apps.core.ui.cells import Cell

from .serializers import IpRangeSerializer
from .views import L2NetworkViewSet, L3NetworkViewSet

LABELS = {"physical_interface": _("Physical interface"), "bridge_name": _("Bridge"), "cluster_uuids": _("Clusters"),
          "l2_network_uuid": _("L2 network"), "category": _("Category"), "dns": _("DNS servers"),
          "dhcp": _("DHCP"), "netmask": _("Netmask"), "gateway": _("Gateway"),
          "dhcp_server_ip": _("DHCP server"), "ip_ranges": _("IP ranges"),
          "start_ip": _("First address"), "end_ip": _("Last address")}


def ip_ranges(value, row):
    """An L3's ranges as first–last addresses (the API gives each as a small object)."""
    shown = [Cell(f"{one['start_ip']} – {one['end_ip']}", title=one.get("uuid", "")) for one in value or []]
    return Cell(items=shown) if shown else Cell("—")


class L2NetworkPages(ResourcePages):
    viewset = L2NetworkViewSet
    menu = (_("Network"), _("L2 networks"))
    order = 40
    columns = ["name", "type", "zone_uuid", "physical_interface", "created_at"]
    fields = ["name", "description", "zone_uuid", "type", "physical_interface"]
    actions = ["attach", "detach", "delete"]
    options = {"cluster_uuid": "clusters"}   # attach/detach take a plain uuid: picked from the clusters by name
    related = [Related("l3-networks", "l2_network_uuid", label=_("L3 networks"))]
    labels = LABELS
    search_example = "type=NoVlan"


class L3NetworkPages(ResourcePages):
    viewset = L3NetworkViewSet
    menu = (_("Network"), _("L3 networks"))
    order = 41
    columns = ["name", "l2_network_uuid", "category", "dhcp", "gateway", "created_at"]
    fields = ["name", "description", "l2_network_uuid", "category", "dns", "dhcp"]
    # a range is added through the L3's own API action (POST l3-networks/<uuid>/ip-ranges/)
    actions = [Action("ip-ranges", _("Add an IP range"), body=IpRangeSerializer), "delete"]
    cells = {"ip_ranges": ip_ranges}
    labels = LABELS
    search_example = "category=Private"

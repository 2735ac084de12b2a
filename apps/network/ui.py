"""Network's console pages (apps.core.ui): L2 and L3 networks, IP ranges; an L3's page shows its
IP ranges and the addresses handed out in it (the API's ``used-ips``: a normal account's own)."""
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages
from apps.core.ui.apicall import call, list_path
from apps.core.ui.browse import DetailView, table
from apps.core.ui.cells import Cell
from apps.core.ui.labels import field_label

from .serializers import IpRangeSerializer
from .views import IpRangeViewSet, L2NetworkViewSet, L3NetworkViewSet

LABELS = {"physical_interface": _("Physical interface"), "bridge_name": _("Bridge"), "cluster_uuids": _("Clusters"),
          "l2_network_uuid": _("L2 network"), "category": _("Category"), "dns": _("DNS servers"),
          "dhcp": _("DHCP"), "netmask": _("Netmask"), "gateway": _("Gateway"),
          "dhcp_server_ip": _("DHCP server"), "ip_ranges": _("IP ranges"), "l3_network_uuid": _("L3 network"),
          "start_ip": _("First address"), "end_ip": _("Last address"), "network_cidr": _("Subnet"),
          "used_ip_count": _("Addresses in use"), "ip": _("IP address"), "mac": _("MAC address"),
          "owner_uuid": _("Used by"), "ip_range_uuid": _("IP range")}
USED_IPS_SHOWN = 200


def ip_range_rows(request, l3_uuid):
    """The L3's IP ranges as the API's ``ip-ranges`` action lists them, as table rows."""
    answer = call(request, "GET", reverse("l3-networks-ip-ranges", kwargs={"uuid": l3_uuid}))
    rows = answer.data if answer.ok and isinstance(answer.data, list) else []
    columns = ["name", "start_ip", "end_ip", "used_ip_count"]
    return {"label": _("IP ranges"), "error": "" if answer.ok else answer.message, "count": len(rows),
            "headers": [field_label(c, LABELS) for c in columns],
            "rows": table(request, IpRangePages, rows, columns), "basename": "ip-ranges"}


def vm_names(request, uuids):
    """``{uuid: name}`` of the VMs the user may see, read through the API's VM list."""
    if not uuids:
        return {}
    try:
        path = list_path("vm-instances")
    except Exception:  # noqa: BLE001 - no VM pages in this portal
        return {}
    answer = call(request, "GET", path, {"q": "uuid?=" + ",".join(sorted(uuids)), "limit": len(uuids),
                                         "fields": "uuid,name"})
    return {row["uuid"]: row["name"] for row in answer.data.get("results", [])} if answer.ok else {}


def used_ip_rows(request, l3_uuid, ip_range_uuid=None, with_range=True):
    """The addresses handed out in the L3 (one range's, when given), as the API's ``used-ips``
    answers them: to an admin all of them, to a normal account its own VMs' addresses. A VM's
    address names its VM (linked), the DHCP server's says so."""
    answer = call(request, "GET", reverse("l3-networks-used-ips", kwargs={"uuid": l3_uuid}))
    rows = answer.data if answer.ok and isinstance(answer.data, list) else []
    if ip_range_uuid is not None:
        rows = [row for row in rows if row.get("ip_range_uuid") == str(ip_range_uuid)]
    shown = rows[:USED_IPS_SHOWN]
    names = vm_names(request, {row["owner_uuid"] for row in shown if row.get("owner_type") == "VmNic"
                               and row.get("owner_uuid")})
    columns = ["ip", "mac", "owner_uuid"] + (["ip_range_uuid"] if with_range else [])
    result = []
    for row in shown:
        owner = row.get("owner_uuid") or ""
        if row.get("owner_type") == "VmNic" and owner:
            used_by = Cell(names.get(owner, owner[:8]), title=owner, href=reverse(
                "ui:detail", kwargs={"basename": "vm-instances", "uuid": owner}))
        else:
            used_by = Cell(str(_("DHCP server")) if row.get("owner_type") == "DhcpServer" else row.get("owner_type"))
        cells = [Cell(row["ip"], code=True), Cell(row["mac"], code=True) if row.get("mac") else Cell("—"), used_by]
        if with_range:
            cells.append(Cell(row["ip_range_uuid"][:8], title=row["ip_range_uuid"], href=reverse(
                "ui:detail", kwargs={"basename": "ip-ranges", "uuid": row["ip_range_uuid"]})))
        result.append((row, cells))
    return {"label": _("Used IP addresses"), "error": "" if answer.ok else answer.message, "count": len(rows),
            "headers": [field_label(c, LABELS) for c in columns], "rows": result}


class L3DetailView(DetailView):
    def more_context(self, data):
        ranges = ip_range_rows(self.request, data["uuid"])
        return {"ip_ranges": ranges, "used_ips": used_ip_rows(self.request, data["uuid"],
                                                              with_range=ranges["count"] > 1)}


class IpRangeDetailView(DetailView):
    def more_context(self, data):
        return {"used_ips": used_ip_rows(self.request, data["l3_network_uuid"], data["uuid"], with_range=False)}


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
    detail_fields = ["uuid", "name", "description", "l2_network_uuid", "zone_uuid", "category", "dns", "dhcp",
                     "netmask", "gateway", "dhcp_server_ip", "created_at", "updated_at"]   # ranges: a table
    labels = LABELS
    search_example = "category=Private"
    detail_template = "network/l3_detail.html"
    views = {"detail": L3DetailView}


class IpRangePages(ResourcePages):
    """IP ranges: added on their L3 network's page (its "Add IP range"), listed, deleted when free."""

    viewset = IpRangeViewSet
    menu = (_("Network"), _("IP ranges"))
    order = 42
    columns = ["name", "l3_network_uuid", "start_ip", "end_ip", "netmask", "gateway", "used_ip_count", "created_at"]
    actions = [Action("delete", destructive=True)]
    labels = LABELS
    search_example = "network_cidr=10.0.0.0/24"
    detail_template = "network/ip_range_detail.html"
    views = {"detail": IpRangeDetailView}

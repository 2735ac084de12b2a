"""The console's pages of the mirrored network (H4, H7): VPCs, vSwitches, VRouters, route entries,
security groups and EIPs with their actions; the network of an ECS instance on its page (its VPC,
vSwitch, security groups and EIP, as this account sees them), and a data centre's network on its."""
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.tenancy import visible
from apps.core.ui import Action, Related, ResourcePages, add_detail_panel

from .models import AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVRouter, AlibabaVSwitch
from .network_views import (EipViewSet, RouteEntryViewSet, SecurityGroupViewSet, VpcViewSet, VRouterViewSet,
                            VSwitchViewSet)
from .ui import DELETE_HERE, DELETE_IN_CLOUD, HYBRID, LABELS, in_site_zone

NETWORK_LABELS = {
    **LABELS, "vpc_uuid": _("VPC"), "v_router_id": _("VRouter"), "v_router_uuid": _("VRouter"),
    "cidr_block": _("CIDR block"), "is_default": _("Default"), "available_ip_address_count": _("Free addresses"),
    "route_table_ids": _("Route tables"), "route_table_id": _("Route table"), "route_entry_id": _("Route entry ID"),
    "destination_cidr_block": _("Destination"), "next_hop_type": _("Next hop type"), "next_hop_id": _("Next hop"),
    "entry_type": _("Type"), "security_group_type": _("Group type"), "rules": _("Rules"),
    "allocation_id": _("Allocation ID"), "ip_address": _("IP address"), "bandwidth": _("Bandwidth (Mbit/s)"),
    "ecs_instance_uuid": _("ECS instance"), "direction": _("Direction"), "ip_protocol": _("Protocol"),
    "port_range": _("Ports"), "cidr_ip": _("Addresses"), "policy": _("Policy"), "priority": _("Priority"),
    "nic_type": _("Network type"), "rule_id": _("Rule ID"), "v_switch_uuid": _("vSwitch"),
}
TIMES = {"remote_created_at": in_site_zone}


class VpcPages(ResourcePages):
    viewset = VpcViewSet
    basename = "alibaba-vpcs"
    menu = (HYBRID, _("VPCs"))
    order = 74
    columns = ["name", "vpc_id", "state", "cidr_block", "region_id", "created_at"]
    row_fields = ["time_zone"]
    fields = ["name", "description", "data_center_uuid", "cidr_block"]
    edit_fields = ["description"]
    options = {"data_center_uuid": "alibaba-data-centers"}
    actions = [DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    labels = NETWORK_LABELS
    related = [Related("alibaba-v-switches", "vpc_uuid", label=_("vSwitches")),
               Related("alibaba-v-routers", "vpc_uuid", label=_("VRouters")),
               Related("alibaba-security-groups", "vpc_uuid", label=_("Security groups"))]
    after_create = "job"
    search_example = "cidr_block=10.0.0.0/16"


class VSwitchPages(ResourcePages):
    viewset = VSwitchViewSet
    basename = "alibaba-v-switches"
    menu = (HYBRID, _("vSwitches"))
    order = 75
    columns = ["name", "v_switch_id", "state", "cidr_block", "zone_id", "vpc_id", "available_ip_address_count"]
    row_fields = ["time_zone"]
    fields = ["name", "description", "vpc_uuid", "identity_zone_uuid", "cidr_block"]
    edit_fields = ["description"]
    options = {"vpc_uuid": "alibaba-vpcs", "identity_zone_uuid": "alibaba-identity-zones"}
    links = {"vpc_uuid": "alibaba-vpcs"}
    actions = [DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    labels = NETWORK_LABELS
    after_create = "job"
    search_example = "zone_id=cn-hangzhou-h"


class VRouterPages(ResourcePages):
    viewset = VRouterViewSet
    basename = "alibaba-v-routers"
    menu = (HYBRID, _("VRouters"))
    order = 76
    columns = ["name", "v_router_id", "state", "vpc_id", "route_table_ids", "created_at"]
    row_fields = ["time_zone"]
    links = {"vpc_uuid": "alibaba-vpcs"}
    actions = [DELETE_HERE]
    cells = TIMES
    labels = NETWORK_LABELS
    related = [Related("alibaba-route-entries", "v_router_uuid", label=_("Route entries"))]
    search_example = "state=Available"


class RouteEntryPages(ResourcePages):
    viewset = RouteEntryViewSet
    basename = "alibaba-route-entries"
    menu = (HYBRID, _("Route entries"))
    order = 77
    columns = ["name", "destination_cidr_block", "next_hop_type", "next_hop_id", "entry_type", "state",
               "route_table_id"]
    fields = ["name", "description", "v_router_uuid", "destination_cidr_block", "next_hop_type", "next_hop_id"]
    edit_fields = ["description"]
    options = {"v_router_uuid": "alibaba-v-routers"}
    links = {"v_router_uuid": "alibaba-v-routers"}
    actions = [DELETE_IN_CLOUD, DELETE_HERE]
    labels = NETWORK_LABELS
    after_create = "job"
    search_example = "entry_type=Custom"


class SecurityGroupPages(ResourcePages):
    viewset = SecurityGroupViewSet
    basename = "alibaba-security-groups"
    menu = (HYBRID, _("Security groups"))
    order = 78
    columns = ["name", "security_group_id", "state", "vpc_id", "security_group_type", "created_at"]
    row_fields = ["time_zone"]
    fields = ["name", "description", "vpc_uuid", "security_group_type"]
    edit_fields = ["description"]
    options = {"vpc_uuid": "alibaba-vpcs"}
    links = {"vpc_uuid": "alibaba-vpcs"}
    actions = [Action("add-rule", _("Add a rule"), destructive=False),
               Action("remove-rule", _("Remove a rule"), destructive=True), DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    labels = NETWORK_LABELS
    detail_template = "hybrid/security_group_detail.html"
    after_create = "job"
    search_example = "security_group_type=normal"


class EipPages(ResourcePages):
    viewset = EipViewSet
    basename = "alibaba-eips"
    menu = (HYBRID, _("EIPs"))
    order = 79
    columns = ["name", "ip_address", "state", "bandwidth", "instance_id", "allocation_id", "created_at"]
    row_fields = ["time_zone"]
    fields = ["name", "description", "data_center_uuid", "bandwidth", "internet_charge_type"]
    edit_fields = ["description"]
    options = {"data_center_uuid": "alibaba-data-centers", "ecs_instance_uuid": "ecs-instances"}
    links = {"ecs_instance_uuid": "ecs-instances"}
    actions = [Action("associate", _("Associate"), destructive=False),
               Action("disassociate", _("Disassociate"), destructive=False),
               Action("delete", _("Release"), destructive=True), DELETE_HERE]
    cells = TIMES
    labels = NETWORK_LABELS
    after_create = "job"
    search_example = "state=Available"


def _link(basename, row):
    return reverse("ui:detail", kwargs={"basename": basename, "uuid": row.uuid})


def ecs_network_panel(request, data):
    """An ECS instance's VPC, vSwitch, security groups and EIP, each a link to its page when this
    account's rows mirror it (else the cloud's id alone: a sync will bring it)."""
    center = data.get("data_center_uuid")
    if not center:
        return ""
    user = request.user

    def rows(model, column, ids):
        found = {getattr(r, column): r for r in visible(model.objects.filter(
            data_center__uuid=center, **{f"{column}__in": ids}), user)}
        return [(remote_id, found.get(remote_id)) for remote_id in ids]

    def linked(basename, pairs):
        return [{"id": remote_id, "name": row.name if row else "", "url": _link(basename, row) if row else ""}
                for remote_id, row in pairs]

    groups = data.get("security_group_ids") or []
    context = {
        "vpc": linked("alibaba-vpcs", rows(AlibabaVpc, "vpc_id", [data["vpc_id"]] if data.get("vpc_id") else [])),
        "v_switch": linked("alibaba-v-switches", rows(AlibabaVSwitch, "v_switch_id",
                                                      [data["v_switch_id"]] if data.get("v_switch_id") else [])),
        "groups": linked("alibaba-security-groups", rows(AlibabaSecurityGroup, "security_group_id", groups)),
        "eips": linked("alibaba-eips", rows(AlibabaEip, "ip_address",
                                            [data["eip_address"]] if data.get("eip_address") else [])),
    }
    if not any(context.values()):
        return ""
    sections = [(_("VPC"), context["vpc"]), (_("vSwitch"), context["v_switch"]),
                (_("Security groups"), context["groups"]), (_("EIP"), context["eips"])]
    return render_to_string("hybrid/_ecs_network.html", {"sections": sections}, request=request)


add_detail_panel("ecs-instances", ecs_network_panel)


NETWORK_OF_A_DATA_CENTER = [
    (_("VPCs"), AlibabaVpc, "alibaba-vpcs"), (_("vSwitches"), AlibabaVSwitch, "alibaba-v-switches"),
    (_("VRouters"), AlibabaVRouter, "alibaba-v-routers"),
    (_("Route entries"), AlibabaRouteEntry, "alibaba-route-entries"),
    (_("Security groups"), AlibabaSecurityGroup, "alibaba-security-groups"), (_("EIPs"), AlibabaEip, "alibaba-eips"),
]


def data_center_network_panel(request, data):
    """How many of each network kind the data centre holds here, each a link to their list."""
    query = urlencode({"q": f"data_center_uuid={data['uuid']}"})
    counts = [{"label": label, "count": visible(model.objects.filter(data_center__uuid=data["uuid"]),
                                                request.user).count(),
               "url": reverse("ui:list", kwargs={"basename": basename}) + "?" + query}
              for label, model, basename in NETWORK_OF_A_DATA_CENTER]
    return render_to_string("hybrid/_data_center_network.html", {"counts": counts}, request=request)


add_detail_panel("alibaba-data-centers", data_center_network_panel)

"""The console pages of Express Connect and VPN (H8, H9): VBRs (with the link to a VPC), router
interfaces, VPN gateways, customer gateways and VPN connections with their actions, and the form
of the VPN quick create. Declared like the API's viewsets: same tenancy, validation and flows."""
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages
from apps.core.ui.edit import FormView

from . import links_serializers as s
from .links_views import (CustomerGatewayViewSet, RouterInterfaceViewSet, VirtualBorderRouterViewSet,
                          VpnConnectionViewSet, VpnGatewayViewSet)
from .ui import DELETE_HERE, DELETE_IN_CLOUD, HYBRID, LABELS, in_site_zone

LINK_LABELS = {
    **LABELS,
    "vbr_id": _("VBR ID"), "access_point_id": _("Access point"), "physical_connection_id": _("Physical connection"),
    "circuit_code": _("Circuit code"), "vlan_id": _("VLAN"), "local_gateway_ip": _("Local gateway IP"),
    "peer_gateway_ip": _("Peer gateway IP"), "peering_subnet_mask": _("Peering subnet mask"),
    "route_table_id": _("Route table"), "bandwidth": _("Bandwidth (Mbit/s)"),
    "router_interface_id": _("Router interface ID"), "role": _("Role"), "router_type": _("Router type"),
    "router_id": _("Router"), "virtual_border_router_uuid": _("VBR"), "spec": _("Specification"),
    "opposite_interface_id": _("Opposite interface"), "opposite_router_id": _("Opposite router"),
    "opposite_router_type": _("Opposite router type"), "opposite_region_id": _("Opposite region"),
    "opposite_vpc_id": _("Opposite VPC"), "connected_at": _("Connected"), "idc_cidr": _("Data centre CIDR"),
    "vpc_cidr": _("VPC CIDR"), "vpn_gateway_id": _("VPN gateway ID"), "internet_ip": _("Public IP"),
    "network_type": _("Network type"), "ipsec_vpn": _("IPsec VPN"), "ssl_vpn": _("SSL VPN"),
    "charge_type": _("Billing"), "business_status": _("Business status"),
    "customer_gateway_id": _("Customer gateway ID"), "ip_address": _("IP address"), "asn": _("ASN"),
    "auth_key": _("BGP authentication key"), "vpn_connection_id": _("VPN connection ID"),
    "vpn_gateway_uuid": _("VPN gateway"), "customer_gateway_uuid": _("Customer gateway"),
    "local_subnet": _("Local subnets"), "remote_subnet": _("Remote subnets"),
    "effect_immediately": _("Negotiate now"), "enable_dpd": _("Dead peer detection"),
    "enable_nat_traversal": _("NAT traversal"), "psk": _("Pre-shared key"), "ike_version": _("IKE version"),
    "ike_mode": _("IKE mode"), "ike_enc_alg": _("IKE encryption"), "ike_auth_alg": _("IKE authentication"),
    "ike_pfs": _("IKE DH group"), "ike_lifetime": _("IKE SA lifetime (s)"), "ike_local_id": _("Local ID"),
    "ike_remote_id": _("Remote ID"), "ipsec_enc_alg": _("IPsec encryption"),
    "ipsec_auth_alg": _("IPsec authentication"), "ipsec_pfs": _("IPsec DH group"),
    "ipsec_lifetime": _("IPsec SA lifetime (s)"), "customer_gateway_ip": _("Customer gateway IP"),
}
TIMES = {"remote_created_at": in_site_zone, "connected_at": in_site_zone}
SETTINGS = ["local_subnet", "remote_subnet", "effect_immediately", "enable_dpd", "enable_nat_traversal", "psk",
            *s.CONFIG_KEYS]


class VirtualBorderRouterPages(ResourcePages):
    viewset = VirtualBorderRouterViewSet
    basename = "virtual-border-routers"
    menu = (HYBRID, _("Virtual border routers"))
    order = 80
    columns = ["name", "vbr_id", "state", "access_point_id", "vlan_id", "route_table_id", "created_at"]
    edit_fields = ["description"]
    actions = [Action("link-vpc", _("Link to a VPC"), body=s.LinkVpcForm, destructive=False),
               Action("delete", _("Delete here"), destructive=True)]
    options = {"vpc_uuid": "alibaba-vpcs"}
    cells = TIMES
    row_fields = ["time_zone"]
    labels = LINK_LABELS
    related = [Related("router-interfaces", "virtual_border_router_uuid", label=_("Router interfaces"))]
    search_example = "state=active"

    @classmethod
    def can_create(cls):
        return False   # a carrier lays a VBR's circuit: the syncs find them


class RouterInterfacePages(ResourcePages):
    viewset = RouterInterfaceViewSet
    basename = "router-interfaces"
    menu = (HYBRID, _("Router interfaces"))
    order = 81
    columns = ["name", "router_interface_id", "state", "role", "router_type", "router_id", "opposite_router_id",
               "spec", "created_at"]
    edit_fields = ["description"]
    actions = [Action("delete-link", _("Delete the link in the cloud"), destructive=True),
               Action("delete", _("Delete here"), destructive=True)]
    cells = TIMES
    row_fields = ["time_zone"]
    labels = LINK_LABELS
    links = {"virtual_border_router_uuid": "virtual-border-routers"}
    search_example = "state=Active"

    @classmethod
    def can_create(cls):
        return False   # made in pairs by a VBR's "Link to a VPC"


class VpnGatewayPages(ResourcePages):
    viewset = VpnGatewayViewSet
    basename = "vpn-gateways"
    menu = (HYBRID, _("VPN gateways"))
    order = 82
    columns = ["name", "vpn_gateway_id", "state", "vpc_id", "internet_ip", "spec", "created_at"]
    edit_fields = ["description"]
    actions = [Action("delete", _("Delete here"), destructive=True)]
    cells = TIMES
    row_fields = ["time_zone"]
    labels = LINK_LABELS
    related = [Related("vpn-connections", "vpn_gateway_uuid", label=_("VPN connections"))]
    search_example = "state=active"

    @classmethod
    def can_create(cls):
        return False   # made by the VPN quick create, or found by the syncs


class CustomerGatewayPages(ResourcePages):
    viewset = CustomerGatewayViewSet
    basename = "customer-gateways"
    menu = (HYBRID, _("Customer gateways"))
    order = 83
    columns = ["name", "customer_gateway_id", "state", "ip_address", "asn", "created_at"]
    fields = ["name", "description", "data_center_uuid", "ip_address", "asn", "auth_key"]
    edit_fields = ["description"]
    options = {"data_center_uuid": "alibaba-data-centers"}
    actions = [Action("rename", _("Rename"), destructive=False), DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    row_fields = ["time_zone"]
    labels = LINK_LABELS
    related = [Related("vpn-connections", "customer_gateway_uuid", label=_("VPN connections"))]
    after_create = "job"
    search_example = "ip_address=203.0.113.7"


class VpnConnectionPages(ResourcePages):
    viewset = VpnConnectionViewSet
    basename = "vpn-connections"
    menu = (HYBRID, _("VPN connections"))
    order = 84
    columns = ["name", "vpn_connection_id", "state", "vpn_gateway_id", "customer_gateway_id", "remote_subnet",
               "created_at"]
    fields = ["name", "description", "vpn_gateway_uuid", "customer_gateway_uuid", *SETTINGS]
    edit_fields = ["description"]
    options = {"vpn_gateway_uuid": "vpn-gateways", "customer_gateway_uuid": "customer-gateways"}
    links = {"vpn_gateway_uuid": "vpn-gateways", "customer_gateway_uuid": "customer-gateways"}
    actions = [Action("modify", _("Modify"), destructive=False), DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    row_fields = ["time_zone"]
    labels = LINK_LABELS
    after_create = "job"
    search_example = "state=ipsec_sa_established"
    list_template = "hybrid/vpn_connection_list.html"

    @classmethod
    def extra_urls(cls):
        return [path("quick-create/", VpnQuickCreateView.as_view(), name="vpn-quick-create")]


class VpnQuickCreateForm(VpnConnectionPages):
    """What the quick create's form shows (not a page of its own: no viewset of its own)."""

    fields = ["name", "data_center_uuid", "vpc_id", "v_switch_id", "bandwidth", "customer_gateway_ip", "asn",
              *SETTINGS]
    options = {"data_center_uuid": "alibaba-data-centers"}

    @classmethod
    def serializer_class(cls, for_create=False):
        return s.VpnQuickCreateSerializer

    @classmethod
    def title(cls):
        return _("VPN quick create")


class VpnQuickCreateView(FormView):
    """The VPN quick create: the form of ``POST /vpn-connections/quick-create/``, then its job."""

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "vpn-connections", *args, **kwargs)

    def list_path(self):
        return reverse("vpn-connections-quick-create")

    def form(self, uuid, values, answer=None, status=200):
        self.pages = VpnQuickCreateForm
        return super().form(uuid, values, answer, status)

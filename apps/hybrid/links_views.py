"""The Express Connect and VPN API (H8, H9): /virtual-border-routers/, /router-interfaces/,
/vpn-gateways/, /customer-gateways/, /vpn-connections/.

VBRs, router interfaces and VPN gateways are what the data centres' syncs find: read, described
here, deleted here only (DELETE: the row, nothing in the cloud). Links and gateways are made by the
quick creates (``POST /virtual-border-routers/<uuid>/link-vpc/``, ``POST
/vpn-connections/quick-create/``). Customer gateways and VPN connections have their whole life
here: their creates, changes and DELETE are flows that act in the cloud (202 + job; a row whose
resource is gone there, state Deleted, is deleted here only), and ``POST .../delete-here/`` deletes
the row alone."""
import uuid as uuid_lib

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.viewsets import ResourceViewSet
from apps.core.errors import InvalidArgument, InvalidState

from . import links_serializers as s
from .delete_here import DeleteHere
from .flows.links_express import DELETE_LINK, LINK_VBR_TO_VPC
from .flows.links_vpn import (CREATE_CUSTOMER_GATEWAY, CREATE_VPN_CONNECTION, DELETE_CUSTOMER_GATEWAY,
                              DELETE_VPN_CONNECTION, MODIFY_VPN_CONNECTION, QUICK_CREATE_VPN,
                              RENAME_CUSTOMER_GATEWAY)
from .models import CustomerGateway, RouterInterface, VirtualBorderRouter, VpnConnection, VpnGateway, VpnState
from .models.vpn import BUSY_STATES


class MirroredViewSet(ResourceViewSet):
    """Rows a sync mirrors and no API call creates: no POST on the collection; DELETE deletes the
    row here (the cascade), nothing in the cloud. PATCH changes the description only."""

    @extend_schema(exclude=True)   # not an operation: only its refusal
    def create(self, request, *args, **kwargs):
        raise exceptions.MethodNotAllowed("POST", detail="these are found by a data centre's sync, not created "
                                                         "here (POST .../alibaba-data-centers/<uuid>/sync/)")


def _link_args(vbr, data):
    data = dict(data)
    if data.pop("vpc_data_center_id", vbr.data_center_id) != vbr.data_center_id:
        raise InvalidArgument("link the VBR to a VPC of its own data centre",
                              details={"vpc_uuid": ["not a VPC of the VBR's data centre"]})
    return {**data, "data_center_uuid": str(vbr.data_center.uuid), "vbr_uuid": str(vbr.uuid)}


class VirtualBorderRouterViewSet(MirroredViewSet):
    """The account's VBRs (Express Connect circuits into its data centres), as the syncs found them.
    ``POST .../link-vpc/`` links one to a VPC of its region, with routes both sides."""

    queryset = VirtualBorderRouter.objects.select_related("data_center", "account")
    serializer_class = s.VirtualBorderRouterSerializer
    flow_actions = {"link-vpc": FlowAction(
        LINK_VBR_TO_VPC, args=_link_args, body=s.LinkVpcBody,
        doc="Link the VBR to a VPC: two router interfaces connected, a route each side (202 + job; "
            "everything undone when a step fails).")}


def _delete_link_args(row, data):
    if row.state == "Deleted":
        raise InvalidState("the router interface is gone from the cloud: delete it here",
                           details={"action": "delete-link", "state": row.state})
    return {"data_center_uuid": str(row.data_center.uuid), "router_interface_uuid": str(row.uuid)}


class RouterInterfaceViewSet(MirroredViewSet):
    """Router interfaces (the ends of Express Connect links), as the syncs and link creates found
    them. ``POST .../delete-link/`` deletes the link in the cloud: the routes through either end,
    both ends, then their rows; DELETE deletes the row here only."""

    queryset = RouterInterface.objects.select_related("data_center", "account", "virtual_border_router")
    serializer_class = s.RouterInterfaceSerializer
    flow_actions = {"delete-link": FlowAction(
        DELETE_LINK, args=_delete_link_args,
        doc="Delete the link in the cloud: the routes through either end, both interfaces (deactivated "
            "first), then their rows (202 + job).")}


class VpnGatewayViewSet(MirroredViewSet):
    """VPN gateways, as the syncs and VPN quick creates found them (DELETE: here only)."""

    queryset = VpnGateway.objects.select_related("data_center", "account")
    serializer_class = s.VpnGatewaySerializer


def _in_cloud(row_arg, action, body=False):
    """The arguments of a flow acting on the row's resource in the cloud (``row_arg``: the argument
    naming the row); a row a flow is making or changing, or (but for a delete) one gone from the
    cloud, is refused at once (409 naming its state). ``body``: the action validates a body, which
    joins the arguments (a raw body never does: it could name another account's row)."""
    def args(row, data):
        refused = BUSY_STATES if action == "delete" else (*BUSY_STATES, VpnState.DELETED)
        if row.state in refused:
            raise InvalidState(f"cannot {action} a {row._meta.verbose_name} in state {row.state}",
                               details={"action": action, "state": row.state})
        return {**((data or {}) if body else {}), "data_center_uuid": str(row.data_center.uuid), row_arg: str(row.uuid)}
    return args


class CustomerGatewayViewSet(DeleteHere, ResourceViewSet):
    """Customer gateways (the on-premises ends of VPN connections). Create, rename and DELETE act in
    the cloud (202 + job); a gateway gone there (Deleted) is deleted here only."""

    queryset = CustomerGateway.objects.select_related("data_center", "account")
    serializer_class = s.CustomerGatewaySerializer
    create_serializer_class = s.CustomerGatewayCreateSerializer
    flow_actions = {"rename": FlowAction(RENAME_CUSTOMER_GATEWAY, body=s.CustomerGatewayRenameBody,
                                         args=_in_cloud("customer_gateway_uuid", "rename", body=True),
                                         doc="Rename the customer gateway in the cloud (202 + job).")}
    delete_action = FlowAction(DELETE_CUSTOMER_GATEWAY, args=_in_cloud("customer_gateway_uuid", "delete"),
                               doc="Delete the customer gateway in the cloud, then here (202 + job).")

    def start_create(self, data):
        job_uuid = uuid_lib.uuid4()
        data_center = data["data_center"]
        row = CustomerGateway.objects.create(
            name=data["name"], description=data.get("description", ""), account_id=data_center.account_id,
            data_center=data_center, ip_address=data["ip_address"], asn=data.get("asn", ""), busy_job=job_uuid)
        args = {"data_center_uuid": str(data_center.uuid), "customer_gateway_uuid": str(row.uuid),
                "customer_gateway_params": s.customer_gateway_params(data)}
        if data.get("auth_key"):
            args["auth_key"] = data["auth_key"]   # encrypted by the serializer
        return [FlowStart(row, CREATE_CUSTOMER_GATEWAY, args, job_uuid)]


def _modify_args(row, data):
    args = {**_in_cloud("vpn_connection_uuid", "modify")(row, None), "connection_params": s.connection_params(data)}
    if data.get("psk"):
        args["psk"] = data["psk"]   # encrypted by the serializer
    return args


def _connection_row(data, data_center, job_uuid, **ids):
    """A connection's row, as the create asked it (the flow writes what the cloud says)."""
    return VpnConnection.objects.create(
        name=data["name"], description=data.get("description", ""), account_id=data_center.account_id,
        data_center=data_center, local_subnet=data["local_subnet"], remote_subnet=data["remote_subnet"],
        effect_immediately=data.get("effect_immediately", False), busy_job=job_uuid,
        **{field: data[field] for field in s.CONFIG_KEYS if data.get(field) not in (None, "")}, **ids)


class VpnConnectionViewSet(DeleteHere, ResourceViewSet):
    """IPsec VPN connections between a VPN gateway and a customer gateway. Create, modify and DELETE
    act in the cloud (202 + job); ``POST .../quick-create/`` makes a gateway, a customer gateway
    and the connection in one flow."""

    queryset = VpnConnection.objects.select_related("data_center", "account", "gateway", "customer")
    serializer_class = s.VpnConnectionSerializer
    create_serializer_class = s.VpnConnectionCreateSerializer
    flow_actions = {"modify": FlowAction(MODIFY_VPN_CONNECTION, args=_modify_args, body=s.VpnConnectionModifyBody,
                                         doc="Change the connection's settings in the cloud (202 + job).")}
    delete_action = FlowAction(DELETE_VPN_CONNECTION, args=_in_cloud("vpn_connection_uuid", "delete"),
                               doc="Delete the connection in the cloud, then here (202 + job).")

    def get_serializer_class(self):
        if self.action == "quick_create":
            return s.VpnQuickCreateSerializer
        return super().get_serializer_class()

    def start_create(self, data):
        job_uuid = uuid_lib.uuid4()
        gateway, customer = data["gateway"], data["customer"]
        row = _connection_row(data, gateway.data_center, job_uuid, gateway=gateway, customer=customer,
                              vpn_gateway_id=gateway.vpn_gateway_id, customer_gateway_id=customer.customer_gateway_id)
        params = {**s.connection_params(data), "VpnGatewayId": gateway.vpn_gateway_id,
                  "CustomerGatewayId": customer.customer_gateway_id}
        args = {"data_center_uuid": str(gateway.data_center.uuid), "vpn_connection_uuid": str(row.uuid),
                "connection_params": params}
        if data.get("psk"):
            args["psk"] = data["psk"]
        return [FlowStart(row, CREATE_VPN_CONNECTION, args, job_uuid)]

    @extend_schema(request=s.VpnQuickCreateSerializer)
    @action(detail=False, methods=["post"], url_path="quick-create")
    def quick_create(self, request):
        """A VPN gateway in a VPC, a customer gateway and the connection between them, in one flow
        (202 + job, with the connection as its resource); a failure at any step deletes what it made."""
        serializer = s.VpnQuickCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return self.start_flows(lambda: self._quick_create(serializer.validated_data))

    def _quick_create(self, data):
        job_uuid = uuid_lib.uuid4()
        data_center = data["data_center"]
        owner = {"account_id": data_center.account_id, "data_center": data_center, "busy_job": job_uuid}
        gateway = VpnGateway.objects.create(name=f"{data['name']}-gateway", vpc_id=data["vpc_id"],
                                            v_switch_id=data.get("v_switch_id", ""), **owner)
        customer = CustomerGateway.objects.create(name=f"{data['name']}-idc", ip_address=data["customer_gateway_ip"],
                                                  asn=data.get("asn", ""), state=VpnState.CREATING, **owner)
        row = _connection_row(data, data_center, job_uuid, gateway=gateway, customer=customer)
        gateway_params = {"VpcId": data["vpc_id"], "Bandwidth": data["bandwidth"], "Name": gateway.name}
        if data.get("v_switch_id"):
            gateway_params["VSwitchId"] = data["v_switch_id"]
        args = {"data_center_uuid": str(data_center.uuid), "vpn_gateway_uuid": str(gateway.uuid),
                "customer_gateway_uuid": str(customer.uuid), "vpn_connection_uuid": str(row.uuid),
                "vpn_gateway_params": gateway_params,
                "customer_gateway_params": s.customer_gateway_params({"ip_address": data["customer_gateway_ip"],
                                                                      "name": customer.name, "asn": data.get("asn")}),
                "connection_params": s.connection_params(data)}
        if data.get("psk"):
            args["psk"] = data["psk"]
        return [FlowStart(row, QUICK_CREATE_VPN, args, job_uuid)]

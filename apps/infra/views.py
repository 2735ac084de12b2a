"""Zones, clusters and hosts in the API."""
import secrets

from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.viewsets import ResourceViewSet, audit
from apps.core.errors import CloudPortalError
from apps.core.states import ENABLE_STATE_MACHINE

from . import maintenance
from .flows import ADD_HOST, ADD_KVM_HOST, DELETE_KVM_HOST, RECONNECT_HOST
from .models import HOST_STATE_MACHINE, Cluster, Host, Zone
from .serializers import ClusterSerializer, HostSerializer, ZoneSerializer


class ZoneViewSet(ResourceViewSet):
    queryset = Zone.objects.all()
    serializer_class = ZoneSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


class ClusterViewSet(ResourceViewSet):
    queryset = Cluster.objects.all()
    joins = ("zone",)
    serializer_class = ClusterSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


class HostViewSet(ResourceViewSet):
    """Hosts. Adding one runs the add-host flow (202 + job); so do reconnect and delete."""

    queryset = Host.objects.all()
    joins = ("cluster", "cluster__zone")
    serializer_class = HostSerializer
    state_machine = HOST_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable", "cancel-maintenance": "cancelMaintenance"}
    flow_actions = {"reconnect": FlowAction(RECONNECT_HOST, args=lambda host, data: {"host_uuid": str(host.uuid)},
                                            doc="Reconnect to the host's agent (202 + job)."),
                    "maintain": FlowAction(plan=maintenance.plan,
                                           doc="Enter maintenance: live-migrate the host's VMs away, stop what "
                                               "cannot move (host/maintenance.policy), then Maintenance (202 + job; "
                                               "409 naming the state when not allowed).")}

    def start_create(self, data):
        if data["hypervisor_type"] == "KVM":
            host = _new_kvm_host(data)
            return [FlowStart(host, ADD_KVM_HOST, {"host_uuid": str(host.uuid)})]
        cpu_num, memory_size = data.pop("cpu_num"), data.pop("memory_size")
        host = Host.objects.create(
            management_ip=data.pop("management_ip", "") or "127.0.0.1", agent_secret=secrets.token_hex(32),
            **{k: v for k, v in data.items() if k not in ("password", "private_key")})
        return [FlowStart(host, ADD_HOST, {"host_uuid": str(host.uuid), "cpu_num": cpu_num,
                                           "memory_size": memory_size})]

    def get_delete_flow(self, host):
        """KVM hosts: the delete also stops the agent and removes its files (best effort)."""
        return DELETE_KVM_HOST if host.hypervisor_type == "KVM" else super().get_delete_flow(host)

    @extend_schema(request=None, responses={200: None})
    @action(detail=False, methods=["post"], url_path="agent-events", authentication_classes=[],
            permission_classes=[AllowAny])
    def agent_events(self, request):
        """Events from host agents, signed with the host's own secret (docs/agent-protocol.md)."""
        from .agent_events import receive

        host, count = receive(request)
        audit(request, action="hosts.agent-events", resource_type="Host", resource_uuid=host.uuid,
              user_name=f"agent:{host.name}")
        return Response({"received": count})


def _new_kvm_host(data):
    """A KVM host's row (unique "ip:agent_port", credentials encrypted); ADD_KVM_HOST deploys the
    agent over SSH and deletes the row again if anything fails. 409 HOST_EXISTS for a host known."""
    for unused in ("cpu_num", "memory_size"):
        data.pop(unused, None)
    agent_port = data.get("agent_port") or Host._meta.get_field("agent_port").default
    address_key = f"{data['management_ip']}:{agent_port}"

    def exists(uuid=None):
        return CloudPortalError(
            f"a host with management IP {data['management_ip']} and agent port {agent_port} exists already",
            code="HOST_EXISTS", status=409, details={"address": address_key, "host_uuid": uuid})

    existing = Host.objects.filter(address_key=address_key).values_list("uuid", flat=True).first()
    if existing:
        raise exists(str(existing))
    try:
        with transaction.atomic():
            return Host.objects.create(address_key=address_key, agent_port=agent_port,
                                       agent_secret=secrets.token_hex(32),
                                       **{k: v for k, v in data.items() if k != "agent_port"})
    except IntegrityError:  # the same address added concurrently
        raise exists() from None

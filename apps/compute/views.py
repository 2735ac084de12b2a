import secrets

from drf_spectacular.utils import extend_schema
from django.db import IntegrityError, transaction
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core import cascade as cascade_lib
from apps.core.api.viewsets import ResourceViewSet, _truthy, accepted, audit
from apps.core.errors import CloudPortalError
from apps.core.flows import start_job
from apps.core.states import ENABLE_STATE_MACHINE

from .console.api import console_action
from .flows import ADD_HOST, ADD_KVM_HOST, DELETE_KVM_HOST, RECONNECT_HOST
from .models import HOST_STATE_MACHINE, Cluster, Host, InstanceOffering, VmInstance, Zone
from .serializers import (ClusterSerializer, HostSerializer, InstanceOfferingSerializer, VmInstanceSerializer,
                          ZoneSerializer)


class ZoneViewSet(ResourceViewSet):
    queryset = Zone.objects.all()
    serializer_class = ZoneSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


class ClusterViewSet(ResourceViewSet):
    queryset = Cluster.objects.select_related("zone")
    serializer_class = ClusterSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


class HostViewSet(ResourceViewSet):
    """Hosts. Adding one runs the add-host flow (202 + job); so do reconnect and delete."""

    queryset = Host.objects.select_related("cluster", "cluster__zone")
    serializer_class = HostSerializer
    state_machine = HOST_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable", "maintain": "preMaintain"}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["hypervisor_type"] == "KVM":
            return self._create_kvm(request, data)
        cpu_num, memory_size = data.pop("cpu_num"), data.pop("memory_size")
        host = Host.objects.create(
            management_ip=data.pop("management_ip", "") or "127.0.0.1", agent_secret=secrets.token_hex(32),
            **{k: v for k, v in data.items() if k not in ("password", "private_key")})
        audit(request, action="hosts.create", resource_type="Host", resource_uuid=host.uuid)
        job = start_job(ADD_HOST, resource=host, user=request.user,
                        args={"host_uuid": str(host.uuid), "cpu_num": cpu_num, "memory_size": memory_size})
        audit(request, job_uuid=job.uuid)
        return accepted(job, self.get_serializer(host).data)

    def _create_kvm(self, request, data):
        """A KVM host: the row (unique "ip:agent_port", credentials encrypted) then ADD_KVM_HOST,
        which deploys the agent over SSH and deletes the row again if anything fails."""
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
                host = Host.objects.create(address_key=address_key, agent_port=agent_port,
                                           agent_secret=secrets.token_hex(32),
                                           **{k: v for k, v in data.items() if k != "agent_port"})
        except IntegrityError:  # the same address added concurrently
            raise exists() from None
        audit(request, action="hosts.create", resource_type="Host", resource_uuid=host.uuid)
        job = start_job(ADD_KVM_HOST, resource=host, user=request.user, args={"host_uuid": str(host.uuid)})
        audit(request, job_uuid=job.uuid)
        return accepted(job, self.get_serializer(host).data)

    def destroy(self, request, *args, **kwargs):
        """KVM hosts: the delete also stops the agent and removes its files (best effort)."""
        host = self.get_object()
        if host.hypervisor_type != "KVM" or _truthy(request.query_params.get("dry_run", "false")):
            return super().destroy(request, *args, **kwargs)
        audit(request, action="hosts.delete", resource_type="Host", resource_uuid=host.uuid)
        cascade_lib.check_blockers(host)
        data = self.get_serializer(host).data
        job = start_job(DELETE_KVM_HOST, resource=host, user=request.user, action=f"delete-{self.basename}",
                        args={"resource_type": host.resource_type(), "uuid": str(host.uuid)})
        audit(request, job_uuid=job.uuid)
        return accepted(job, data)

    def change_state(self, request, event):
        response = super().change_state(request, event)
        if event == "preMaintain":  # no VMs to move yet: maintenance is reached at once
            return super().change_state(request, "maintain")
        return response

    @action(detail=True, methods=["post"])
    def reconnect(self, request, uuid=None):
        host = self.get_object()
        audit(request, action="hosts.reconnect", resource_type="Host", resource_uuid=host.uuid)
        job = start_job(RECONNECT_HOST, resource=host, user=request.user, args={"host_uuid": str(host.uuid)})
        audit(request, job_uuid=job.uuid)
        return accepted(job, self.get_serializer(host).data)

    @extend_schema(request=None, responses={200: None})
    @action(detail=False, methods=["post"], url_path="agent-events", authentication_classes=[],
            permission_classes=[AllowAny])
    def agent_events(self, request):
        """Events from host agents, signed with the host's own secret (docs/agent-protocol.md)."""
        from .agent_events import receive

        host, count = receive(request._request)
        audit(request, action="hosts.agent-events", resource_type="Host", resource_uuid=host.uuid,
              user_name=f"agent:{host.name}")
        return Response({"received": count})


class InstanceOfferingViewSet(ResourceViewSet):
    queryset = InstanceOffering.objects.all()
    serializer_class = InstanceOfferingSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


class VmInstanceViewSet(ResourceViewSet):
    """VM instances (tenant resources). Create and the lifecycle actions run flows (202 + job)."""

    queryset = VmInstance.objects.select_related("zone", "cluster", "host", "last_host", "instance_offering",
                                                 "account")
    serializer_class = VmInstanceSerializer

    console = console_action()   # POST .../<uuid>/console/ (apps/compute/console/api.py)

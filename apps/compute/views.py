import secrets

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.serializers import JobSerializer
from apps.core.api.viewsets import ResourceViewSet, audit
from apps.core.errors import CloudPortalError, ResourceBusy
from apps.core.states import ENABLE_STATE_MACHINE

from . import vm_service
from .console.api import console_action
from .flows import ADD_HOST, ADD_KVM_HOST, CREATE_VM, DELETE_KVM_HOST, RECONNECT_HOST
from .flows.vm_lifecycle import start_action
from .models import HOST_STATE_MACHINE, Cluster, Host, InstanceOffering, VmInstance, VmNic, Zone
from .serializers import (ClusterSerializer, HostSerializer, InstanceOfferingSerializer, VmCreateSerializer,
                          VmInstanceSerializer, ZoneSerializer)


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
    flow_actions = {"reconnect": FlowAction(RECONNECT_HOST, args=lambda host, data: {"host_uuid": str(host.uuid)},
                                            doc="Reconnect to the host's agent (202 + job).")}

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

    def change_state(self, request, event):
        response = super().change_state(request, event)
        if event == "preMaintain":  # no VMs to move yet: maintenance is reached at once
            return super().change_state(request, "maintain")
        return response

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


class InstanceOfferingViewSet(ResourceViewSet):
    queryset = InstanceOffering.objects.all()
    serializer_class = InstanceOfferingSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


VM_JOINED = ("zone", "cluster", "host", "last_host", "instance_offering", "account", "image", "root_volume")
VM_ACTIONS = ("start", "stop", "power-off", "reboot", "pause", "resume", "expunge")


def _vm_action(name, doc):
    return FlowAction(start=lambda vm, data, user: start_action(vm, name, user, data), doc=doc)


class VmInstanceViewSet(ResourceViewSet):
    """VM instances (tenant resources). Create and the lifecycle actions run flows (202 + job);
    ``?dry_run=true`` on create answers the placement without changing anything."""

    queryset = VmInstance.objects.select_related(*VM_JOINED).prefetch_related("nics__l3_network")
    serializer_class = VmInstanceSerializer
    create_serializer_class = VmCreateSerializer
    flow_actions = {name: _vm_action(name, f"{name} the VM (a flow: 202 + job; 409 naming the state when not "
                                           "allowed).") for name in VM_ACTIONS}
    delete_action = _vm_action("destroy", "DELETE destroys the VM into the recycle bin (vm.deletionPolicy "
                                          "decides what follows).")
    console = console_action()   # POST .../<uuid>/console/ (apps/compute/console/api.py)

    def start_create(self, data):
        return [FlowStart(vm, CREATE_VM, args, job_uuid)
                for vm, job_uuid, args in vm_service.new_vms(data, self.request.user.account)]

    def dry_run_create(self, data):
        return vm_service.placement(data)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            # a page shows only the uuids of the rows it joins (VmInstanceSerializer's *_uuid fields):
            # reading, converting and decrypting their other columns was a third of a page's CPU
            queryset = queryset.only(*(f.name for f in VmInstance._meta.concrete_fields),
                                     *(f"{name}__uuid" for name in VM_JOINED)).prefetch_related(None).prefetch_related(
                Prefetch("nics", queryset=VmNic.objects.select_related("l3_network").only(
                    *(f.name for f in VmNic._meta.concrete_fields), "l3_network__uuid")))
        return queryset

    @action(detail=True, methods=["post"])
    def recover(self, request, uuid=None):
        """A destroyed VM comes back Stopped, with its volumes and addresses (local and quick: 200)."""
        from .flows.vm_common import fire

        vm = self.get_object()
        audit(request, action="vm-instances.recover", resource_type="VmInstance", resource_uuid=vm.uuid)
        if vm.busy_job:
            raise ResourceBusy(f"VmInstance {vm.uuid} is busy with job {vm.busy_job}",
                               details={"job_uuid": str(vm.busy_job)})
        vm = fire(vm.uuid, "recovering", destroyed_at=None)
        return Response(VmInstanceSerializer(self.get_queryset().get(pk=vm.pk),
                                             context=self.get_serializer_context()).data)

    @action(detail=False, methods=["post"], url_path="batch-delete")
    def batch_delete(self, request):
        """``{"uuids": [...]}``: destroy each (a job per VM); VMs that cannot be destroyed are listed."""
        uuids = request.data.get("uuids") if hasattr(request.data, "get") else None
        jobs, refused = vm_service.destroy_many(uuids, self.filter_queryset(self.get_queryset()), request.user)
        audit(request, resource_type="VmInstance")
        return Response({"jobs": JobSerializer(jobs, many=True).data, "refused": refused},
                        status=202 if jobs else 409)

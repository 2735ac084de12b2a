import secrets
import uuid as uuid_lib

from drf_spectacular.utils import extend_schema
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.api.viewsets import ResourceViewSet, _truthy, accepted, audit
from apps.core.api.serializers import JobSerializer, represent
from apps.core.errors import CloudPortalError, ResourceBusy
from apps.core.flows import start_job
from apps.core.middleware import write_in_transaction
from apps.core.states import ENABLE_STATE_MACHINE

from .console.api import console_action
from .console.password import generate_password
from .flows import ADD_HOST, ADD_KVM_HOST, DELETE_KVM_HOST, RECONNECT_HOST
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

    def get_delete_flow(self, host):
        """KVM hosts: the delete also stops the agent and removes its files (best effort)."""
        return DELETE_KVM_HOST if host.hypervisor_type == "KVM" else super().get_delete_flow(host)

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


VM_JOINED = ("zone", "cluster", "host", "last_host", "instance_offering", "account", "image", "root_volume")


class VmInstanceViewSet(ResourceViewSet):
    """VM instances (tenant resources). Create and the lifecycle actions run flows (202 + job);
    ``?dry_run=true`` on create answers the placement without changing anything."""

    queryset = VmInstance.objects.select_related(*VM_JOINED).prefetch_related("nics__l3_network")
    serializer_class = VmInstanceSerializer

    console = console_action()   # POST .../<uuid>/console/ (apps/compute/console/api.py)

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

    def get_serializer_class(self):
        if self.action == "create":
            return VmCreateSerializer
        return VmInstanceSerializer

    def create(self, request, *args, **kwargs):
        from .flows.vm_create import CREATE_VM, dry_run

        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        args = vm_create_args(data)
        if _truthy(request.query_params.get("dry_run", "false")):
            return Response({"placement": dry_run(args)})
        jobs, vms = [], []
        # the VMs and their jobs are one change (one commit): a VM inserted already claimed by
        # its job, never a VM without the job that creates it
        with transaction.atomic():
            for index in range(data["count"]):
                name = data["name"] if data["count"] == 1 else f"{data['name']}-{index + 1}"
                job_uuid = uuid_lib.uuid4()
                vm = VmInstance.objects.create(
                    name=name, description=data.get("description", ""), account=request.user.account,
                    cpu_num=args["cpu_num"], memory_size=args["memory_size"], image=data["image"],
                    instance_offering=data.get("instance_offering"), platform=data.get("platform") or
                    data["image"].platform or "Linux", allocator_strategy=args["strategy"],
                    console_password=generate_password(), busy_job=job_uuid)
                audit(request, action="vm-instances.create", resource_type="VmInstance", resource_uuid=vm.uuid)
                jobs.append(start_job(CREATE_VM, resource=vm, user=request.user, job_uuid=job_uuid,
                                      args={**args, "vm_uuid": str(vm.uuid)}))
                vms.append(vm)
            audit(request, job_uuid=jobs[0].uuid)
            write_in_transaction(request, 202)  # the audit row commits with them
        # The answer is known without reading it back: a VM made just now has no tags and no NICs
        # yet (the flow adds them), and its account is the caller's, as is its jobs'. Unless its
        # flow already ran inline (Celery eager mode outside a transaction): then read them.
        context = self.get_serializer_context()
        if not _jobs_ran_inline():
            context["tags"] = {}
            for vm in vms:
                _known_empty(vm, "nics")
        for job in jobs:
            if job.account_id == request.user.account_id:
                job.account = request.user.account
        if data["count"] == 1:
            return accepted(jobs[0], represent(VmInstanceSerializer, vms[0], context))
        return accepted_many(jobs, VmInstanceSerializer(vms, many=True, context=context).data)

    def destroy(self, request, *args, **kwargs):
        """DELETE destroys the VM into the recycle bin (vm.deletionPolicy decides what follows)."""
        vm = self.get_object()
        return self._start_action(request, vm, "destroy")

    def _start_action(self, request, vm, name):
        from .flows.vm_lifecycle import start_action

        audit(request, action=f"vm-instances.{name}", resource_type="VmInstance", resource_uuid=vm.uuid)
        job = start_action(vm, name, request.user, dict(request.data) if hasattr(request.data, "items") else {})
        audit(request, job_uuid=job.uuid)
        return accepted(job, VmInstanceSerializer(vm, context=self.get_serializer_context()).data)

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
        if not isinstance(uuids, list) or not uuids or len(uuids) > 1000:
            raise CloudPortalError("give uuids: a list of 1 to 1000 VM uuids", code="INVALID_ARGUMENT",
                                   details={"uuids": ["required"]})
        jobs, refused = [], []
        for uuid in uuids:
            vm = self.filter_queryset(self.get_queryset()).filter(uuid=str(uuid)).first() if _is_uuid(uuid) else None
            if vm is None:
                refused.append({"uuid": str(uuid), "code": "NOT_FOUND", "message": f"VM {uuid} not found"})
                continue
            try:
                from .flows.vm_lifecycle import start_action

                jobs.append(start_action(vm, "destroy", request.user, {}))
            except CloudPortalError as exc:
                refused.append({"uuid": str(uuid), **exc.as_dict()})
        audit(request, action="vm-instances.batch-delete", resource_type="VmInstance")
        return Response({"jobs": JobSerializer(jobs, many=True).data, "refused": refused},
                        status=202 if jobs else 409)


def _make_vm_action(name):
    def vm_action(self, request, uuid=None):
        return self._start_action(request, self.get_object(), name)

    vm_action.__name__ = name.replace("-", "_")
    vm_action.__doc__ = f"{name} the VM (a flow: 202 + job; 409 naming the state when not allowed)."
    return action(detail=True, methods=["post"], url_path=name)(vm_action)


for _name in ("start", "stop", "power-off", "reboot", "pause", "resume", "expunge"):
    setattr(VmInstanceViewSet, _name.replace("-", "_"), _make_vm_action(_name))


def _is_uuid(value):
    try:
        uuid_lib.UUID(str(value))
        return True
    except ValueError:
        return False


def _jobs_ran_inline():
    """Whether a job started just now has already run (eager Celery, its on-commit dispatch not
    held back by an enclosing transaction)."""
    from apps.core.flows.tasks import run_job

    return bool(run_job.app.conf.task_always_eager) and not transaction.get_connection().in_atomic_block


def _known_empty(instance, relation):
    """Record that ``instance.<relation>`` (a reverse foreign key) has no rows, as a prefetch
    would, so that reading it does not ask the database."""
    manager = getattr(instance, relation)
    rows = manager.model.objects.none()
    rows._result_cache, rows._prefetch_done = [], True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[manager.field.remote_field.cache_name] = rows


def vm_create_args(data):
    """The create flow's arguments (JSON) from the validated request."""
    return {
        "cpu_num": data["cpu_num"], "memory_size": data["memory_size"], "image_uuid": str(data["image"].uuid),
        "l3_network_uuids": [str(u) for u in data["l3_network_uuids"]],
        "static_ips": {str(k): v for k, v in data.get("static_ips", {}).items()},
        "zone_uuid": str(data["zone"].uuid) if data.get("zone") else None,
        "cluster_uuid": str(data["cluster"].uuid) if data.get("cluster") else None,
        "host_uuid": str(data["host"].uuid) if data.get("host") else None,
        "root_disk_size": data.get("root_disk_size"),
        "strategy": data.get("allocator_strategy") or "DefaultHostAllocatorStrategy",
        "start": data.get("start", True),
    }


def accepted_many(jobs, resources):
    from apps.core.api.serializers import JobSerializer

    return Response({"jobs": JobSerializer(jobs, many=True).data, "resources": resources}, status=202)

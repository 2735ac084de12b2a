from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.serializers import JobSerializer
from apps.core.api.viewsets import ResourceViewSet, audit
from apps.core.errors import InvalidArgument, ResourceBusy
from apps.core.states import ENABLE_STATE_MACHINE

from . import migration_api, vm_clone_api, vm_clouds, vm_service
from .console.api import console_action
from .flows import CREATE_VM
from .flows.vm_lifecycle import plan_action
from .guest.plans import GUEST_ACTIONS
from .models import InstanceOffering, VmInstance, VmNic
from .serializers import InstanceOfferingSerializer, VmCreateSerializer, VmInstanceSerializer
from .vm_clone_api import VmCloneSerializer


class InstanceOfferingViewSet(ResourceViewSet):
    queryset = InstanceOffering.objects.all()
    serializer_class = InstanceOfferingSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


VM_JOINED = ("zone", "cluster", "host", "last_host", "instance_offering", "account", "image", "root_volume")
VM_ACTIONS = ("start", "stop", "power-off", "reboot", "pause", "resume", "expunge")


class VmFlowAction(FlowAction):
    """A VM action: the local flow (``plan_action``), or, for a VM of a public cloud, the flow its
    cloud's app starts on the instance the row mirrors (``vm_clouds``): 202 + job either way."""

    def __init__(self, name, doc):
        super().__init__(plan=lambda vm, data: plan_action(vm, name, data), doc=doc)
        self.name = name

    def begin(self, view, resource, data):
        return vm_service.start_action(resource, self.name, data, view.request.user)


def _vm_action(name, doc):
    return VmFlowAction(name, doc)


class VmInstanceViewSet(ResourceViewSet):
    """VM instances (tenant resources). Create and the lifecycle actions run flows (202 + job);
    ``?dry_run=true`` on create answers the placement without changing anything."""

    queryset = VmInstance.objects.all()
    joins = VM_JOINED
    # of a NIC's L3 network the API shows the uuid alone
    prefetches = (Prefetch("nics", queryset=VmNic.objects.select_related("l3_network").only(
        *(f.name for f in VmNic._meta.concrete_fields), "l3_network__uuid")),)
    serializer_class = VmInstanceSerializer
    create_serializer_class = VmCreateSerializer
    flow_actions = {name: _vm_action(name, f"{name} the VM (a flow: 202 + job; 409 naming the state when not "
                                           "allowed).") for name in VM_ACTIONS}
    flow_actions.update(GUEST_ACTIONS)   # ISO, boot order, password, CPU/memory, QoS (apps/compute/guest/plans.py)
    delete_action = _vm_action("destroy", "DELETE destroys the VM into the recycle bin (vm.deletionPolicy "
                                          "decides what follows).")
    console = console_action()   # POST .../<uuid>/console/ (apps/compute/console/api.py)

    def start_create(self, data):
        if data.get("vm_cloud") is not None:   # placed in a public cloud's zone (vm_clouds)
            return data["vm_cloud"].start_create(data, self.request.user.account)
        return [FlowStart(vm, CREATE_VM, args, job_uuid)
                for vm, job_uuid, args in vm_service.new_vms(data, self.request.user.account)]

    def dry_run_create(self, data):
        if data.get("vm_cloud") is not None:   # the cloud places its instances itself: nothing to show
            raise InvalidArgument("dry_run is for local placement: a VM placed in a cloud's zone has none",
                                  code="DRY_RUN_NOT_OFFERED", details={"identity_zone_uuid": [
                                      "dry_run is not offered for a cloud's zone"]})
        return vm_service.placement(data)

    def perform_update(self, serializer):
        vm = serializer.instance
        cloud = vm_clouds.cloud_of(vm)
        if cloud is None:
            return super().perform_update(serializer)
        # a VM of a public cloud mirrors its cloud app's row: that row is written, the VM row follows
        cloud.update(vm, serializer.validated_data, self.request.user)
        audit(self.request, action=f"{self.basename}.update", resource_type=vm.resource_type(), resource_uuid=vm.uuid)
        vm.refresh_from_db()

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            # a page shows only the uuids of the rows it joins (VmInstanceSerializer's *_uuid fields):
            # reading, converting and decrypting their other columns was a third of a page's CPU
            queryset = queryset.only(*(f.name for f in VmInstance._meta.concrete_fields),
                                     *(f"{name}__uuid" for name in VM_JOINED))
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

    @extend_schema(request=VmCloneSerializer, responses={202: None, 200: None})
    @action(detail=True, methods=["post"])
    def clone(self, request, uuid=None):
        """Clone a VM, Stopped or live (Running/Paused: copied from a temporary snapshot): ``names`` or
        ``count`` new VMs with flattened copies of its volumes and new NICs on the same L3 networks
        (202 + a job per clone; ``dry_run`` answers the placement)."""
        source = self.get_object()
        audit(request, action="vm-instances.clone", resource_type="VmInstance", resource_uuid=source.uuid)
        return vm_clone_api.clone(self, request, source)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def reinit(self, request, uuid=None):
        """Put a Stopped VM's root volume back to its image (its content and snapshots go; 202 + job)."""
        return vm_clone_api.reinit(self, request, self.get_object())

    # migration (apps/compute/migration_api.py): POST .../migrate/, GET .../migration-candidates/
    migrate = migration_api.migrate_action()
    migration_candidates = migration_api.candidates_action()


# --- VM snapshot: every volume of the VM at once (a storage flow; docs/snapshots.md) ----------------------
def _vm_snapshot(self, request, uuid=None):
    """Snapshot every Ready volume of the VM at once (live: one atomic libvirt call); 202 + job whose
    result names the snapshots and their group (/api/v1/volume-snapshot-groups/)."""
    from apps.storage.snapshot_chain import SNAPSHOT_STATES, check_vm_state
    from apps.storage.snapshot_serializers import VmSnapshotSerializer
    from apps.storage.snapshot_views import start_vm_snapshot

    vm = self.get_object()
    body = VmSnapshotSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    check_vm_state(vm, SNAPSHOT_STATES)
    name, description = body.validated_data["name"], body.validated_data.get("description", "")
    return self.start_flows(lambda: [start_vm_snapshot(vm, name, description, shown=vm)])


def _add_vm_snapshot_action():
    from drf_spectacular.utils import extend_schema

    from apps.storage.snapshot_serializers import VmSnapshotSerializer

    _vm_snapshot.__name__ = "snapshot"
    VmInstanceViewSet.snapshot = extend_schema(request=VmSnapshotSerializer)(
        action(detail=True, methods=["post"], url_path="snapshot")(_vm_snapshot))


_add_vm_snapshot_action()

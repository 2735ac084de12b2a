"""/api/v1/volume-snapshots/ and /api/v1/volume-snapshot-groups/: take (POST), list as a tree,
revert, delete; every change a flow (202 + job)."""
import uuid as uuid_lib

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.viewsets import ResourceViewSet
from apps.core.errors import InvalidArgument, InvalidState, NotFound
from apps.core.models.base import resource_model
from apps.core.tenancy import visible

from .flows import DELETE_VOLUME_SNAPSHOTS, REVERT_VOLUME_SNAPSHOTS, TAKE_VOLUME_SNAPSHOTS
from .models import Volume, VolumeSnapshot, VolumeSnapshotGroup, VolumeSnapshotStatus, VolumeStatus
from .snapshot_chain import SNAPSHOT_STATES, check_vm_state, tree, vm_row
from .volume_image_api import CreateImageSerializer, create_image_from_snapshot
from .snapshot_serializers import (VolumeSnapshotCreateSerializer, VolumeSnapshotGroupCreateSerializer,
                                   VolumeSnapshotGroupSerializer, VolumeSnapshotSerializer)


def _ready(volume):
    if volume.status != VolumeStatus.READY:
        raise InvalidState(f"volume {volume.name} is {volume.status}, not Ready", code="VOLUME_NOT_READY",
                           details={"volume_uuid": str(volume.uuid), "status": volume.status})


def _revertible(snapshots):
    for snapshot in snapshots:
        if snapshot.status != VolumeSnapshotStatus.READY:
            raise InvalidState(f"snapshot {snapshot.name} is {snapshot.status}", code="SNAPSHOT_NOT_READY",
                               details={"snapshot_uuid": str(snapshot.uuid), "status": snapshot.status})
        check_vm_state(vm_row(snapshot.volume.vm_instance_uuid), ("Stopped",), code="VM_NOT_STOPPED")
    return {"snapshot_uuids": [str(s.uuid) for s in snapshots]}


def _deletable(snapshots, group_uuids=()):
    for snapshot in snapshots:
        if snapshot.status == VolumeSnapshotStatus.CREATING:
            raise InvalidState(f"snapshot {snapshot.name} is {snapshot.status}", code="SNAPSHOT_NOT_READY",
                               details={"snapshot_uuid": str(snapshot.uuid), "status": snapshot.status})
    return {"snapshot_uuids": [str(s.uuid) for s in snapshots], "group_uuids": [str(u) for u in group_uuids]}


class VolumeSnapshotViewSet(ResourceViewSet):
    """Volume snapshots (external qcow2 files, a tree per volume). POST takes one (live when the
    VM runs); ``revert/`` needs the VM stopped; DELETE merges the snapshot into its children."""

    queryset = VolumeSnapshot.objects.all()
    joins = ("volume", "parent", "group", "account")
    serializer_class = VolumeSnapshotSerializer
    create_serializer_class = VolumeSnapshotCreateSerializer
    flow_actions = {"revert": FlowAction(REVERT_VOLUME_SNAPSHOTS, args=lambda s, data: _revertible([s]), doc=(
        "Put the volume back to this snapshot (its VM stopped): a new file on the snapshot's; 202 + job."))}
    delete_action = FlowAction(DELETE_VOLUME_SNAPSHOTS, args=lambda s, data: _deletable([s]), doc=(
        "Merge the snapshot into its children (their data kept) and remove its file (202 + job)."))

    def start_create(self, data):
        volume = data["volume_uuid"]
        _ready(volume)
        check_vm_state(vm_row(volume.vm_instance_uuid), SNAPSHOT_STATES)
        job_uuid = uuid_lib.uuid4()
        snapshot = VolumeSnapshot.objects.create(
            name=data["name"], description=data.get("description", ""), volume=volume, account=volume.account,
            size=volume.size, format=volume.format, status=VolumeSnapshotStatus.CREATING, busy_job=job_uuid)
        return [FlowStart(snapshot, TAKE_VOLUME_SNAPSHOTS, {
            "volume_uuids": [str(volume.uuid)], "name": data["name"],
            "snapshot_uuids": {str(volume.uuid): str(snapshot.uuid)}}, job_uuid)]

    @extend_schema(parameters=[OpenApiParameter("volume_uuid", str, required=True)], responses={200: None})
    @action(detail=False, methods=["get"])
    def tree(self, request):
        """A volume's snapshots as a tree (``children`` nested, oldest first); the volume's current
        file hangs under the one marked ``latest``."""
        volume_uuid = request.query_params.get("volume_uuid")
        try:
            uuid_lib.UUID(str(volume_uuid))
        except ValueError:
            raise InvalidArgument("give volume_uuid", details={"volume_uuid": ["a volume's uuid"]}) from None
        volume = visible(Volume.objects.all(), request.user).filter(uuid=volume_uuid).first()
        if volume is None:
            raise NotFound(f"volume {volume_uuid} not found", code="VOLUME_NOT_FOUND")
        return Response({"volume_uuid": str(volume.uuid), "tree": tree(volume)})

    @extend_schema(request=CreateImageSerializer, responses={202: None})
    @action(detail=True, methods=["post"], url_path="create-image")
    def create_image(self, request, uuid=None):
        """Make an image of the snapshot's file (read-only: its VM may be running; 202 + job)."""
        return create_image_from_snapshot(self, request)


class VolumeSnapshotGroupViewSet(ResourceViewSet):
    """VM snapshots: every Ready volume of a VM snapshotted at once (one atomic call when it runs)."""

    queryset = VolumeSnapshotGroup.objects.all()
    joins = ("account",)
    serializer_class = VolumeSnapshotGroupSerializer
    create_serializer_class = VolumeSnapshotGroupCreateSerializer
    flow_actions = {"revert": FlowAction(
        REVERT_VOLUME_SNAPSHOTS, args=lambda g, data: _revertible(list(g.snapshots.select_related("volume"))),
        doc="Put every volume of the VM back to this snapshot (the VM stopped); 202 + job.")}
    delete_action = FlowAction(DELETE_VOLUME_SNAPSHOTS, args=lambda g, data: _deletable(
        list(g.snapshots.select_related("volume")), [g.uuid]), doc="Delete every snapshot of the group (202 + job).")

    def start_create(self, data):
        model = resource_model("VmInstance")
        vm = visible(model.objects.all(), self.request.user).filter(uuid=data["vm_instance_uuid"]).first() \
            if model is not None else None
        if vm is None:
            raise NotFound(f"VM {data['vm_instance_uuid']} not found", code="VM_NOT_FOUND")
        check_vm_state(vm, SNAPSHOT_STATES)
        volumes = list(Volume.objects.filter(vm_instance_uuid=vm.uuid, status=VolumeStatus.READY)
                       .order_by("created_at", "id").values_list("uuid", flat=True))
        if not volumes:
            raise InvalidState(f"VM {vm.name} has no Ready volume", code="VM_HAS_NO_VOLUME")
        return [start_vm_snapshot(vm, data["name"], data.get("description", ""), volumes)]


def start_vm_snapshot(vm, name, description="", volume_uuids=None, shown=None):
    """The ``FlowStart`` of a VM snapshot: the group row (held by its job) and the flow taking every
    Ready volume of ``vm`` (or ``volume_uuids``) at once; for a viewset's ``start_flows`` (``shown``:
    what its answer shows instead of the group, e.g. the VM)."""
    if volume_uuids is None:
        volume_uuids = list(Volume.objects.filter(vm_instance_uuid=vm.uuid, status=VolumeStatus.READY)
                            .order_by("created_at", "id").values_list("uuid", flat=True))
    job_uuid = uuid_lib.uuid4()
    vm.mark_busy(job_uuid)   # 409 at once when another job holds the VM; the flow releases it
    group = VolumeSnapshotGroup.objects.create(name=name, description=description, account_id=vm.account_id,
                                               vm_instance_uuid=vm.uuid, busy_job=job_uuid)
    return FlowStart(group, TAKE_VOLUME_SNAPSHOTS, {
        "volume_uuids": [str(u) for u in volume_uuids], "vm_uuid": str(vm.uuid), "name": name,
        "group_uuid": str(group.uuid), "held": [[vm.resource_type(), str(vm.uuid)]]}, job_uuid, shown)

import os

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.viewsets import ResourceViewSet, audit
from apps.core.errors import InvalidArgument, PermissionDenied, ResourceBusy
from apps.core.states import ENABLE_STATE_MACHINE
from apps.core.tenancy import is_admin

from .flows import ADD_IMAGE, ATTACH_PRIMARY_STORAGE, DETACH_PRIMARY_STORAGE, EXPUNGE_IMAGE
from .flows.shared_storage import ATTACH_SHARED_PRIMARY_STORAGE, DETACH_SHARED_PRIMARY_STORAGE
from .models import IMAGE_STATUS_MACHINE, BackupStorage, Image, ImageStatus, PrimaryStorage, Volume
from .serializers import (BackupStorageSerializer, PrimaryStorageClusterSerializer, ImageSerializer, ImageUploadSerializer,
                          PrimaryStorageSerializer, VolumeSerializer, BackupStorageZoneSerializer)
from .uploads import DiskUploadHandler, upload_dir
from .volume_image_api import CreateImageSerializer, create_image_from_volume
from . import data_volumes  # noqa: E402  (data volumes and disk offerings)
from apps.core.errors import InvalidState  # noqa: E402
from apps.infra.models import Host, HostStatus  # noqa: E402

from .flows import (CREATE_DATA_VOLUME, CREATE_NOT_INSTANTIATED_VOLUME, DELETE_DATA_VOLUME,  # noqa: E402
                    DELETE_EXPUNGE_DATA_VOLUME, EXPUNGE_DATA_VOLUME)
from .globalconfig import VOLUME_DELETION_POLICY  # noqa: E402
from .models import DiskOffering, VolumeStatus, VolumeType  # noqa: E402
from .serializers import (DiskOfferingSerializer, VolumeAttachSerializer, VolumeCreateSerializer,  # noqa: E402
                          VolumeResizeSerializer)


class BackupStorageViewSet(ResourceViewSet):
    queryset = BackupStorage.objects.all()
    prefetches = ("zones",)
    serializer_class = BackupStorageSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}

    def _zone_change(self, request, attach):
        bs = self.get_object()
        audit(request, resource_type="BackupStorage", resource_uuid=bs.uuid)
        ref = BackupStorageZoneSerializer(data=request.data, context=self.get_serializer_context())
        ref.is_valid(raise_exception=True)
        (bs.zones.add if attach else bs.zones.remove)(ref.validated_data["zone_uuid"])
        return Response(self.get_serializer(bs).data)

    @extend_schema(request=BackupStorageZoneSerializer)
    @action(detail=True, methods=["post"])
    def attach(self, request, uuid=None):
        """Make the backup storage's images usable in a zone."""
        return self._zone_change(request, True)

    @extend_schema(request=BackupStorageZoneSerializer)
    @action(detail=True, methods=["post"])
    def detach(self, request, uuid=None):
        return self._zone_change(request, False)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def reconnect(self, request, uuid=None):
        """Check the directory again and refresh the capacity (statvfs)."""
        bs = self.get_object()
        audit(request, resource_type="BackupStorage", resource_uuid=bs.uuid)
        bs.refresh_capacity()
        return Response(self.get_serializer(bs).data)


def _claim_status(image, event):
    """Apply a status event under the row lock (409 when busy or not allowed)."""
    with transaction.atomic():
        locked = Image.objects.select_for_update().get(pk=image.pk)
        if locked.busy_job:
            raise ResourceBusy(f"Image {image.uuid} is busy with job {locked.busy_job}",
                               details={"job_uuid": str(locked.busy_job)})
        new = IMAGE_STATUS_MACHINE.next(locked.status, event)
        if new != locked.status:
            locked.status = new
            locked.save(update_fields=["status", "updated_at"])
    return locked


def _expunge_args(image, data):
    IMAGE_STATUS_MACHINE.next(image.status, "expunge")
    return {"image_uuid": str(image.uuid)}


class ImageViewSet(ResourceViewSet):
    """Images. Adding one (URL or upload) runs add-image (202 + job). DELETE marks it Deleted
    (``recover/`` brings it back); ``expunge/`` removes its bits (202 + job)."""

    queryset = Image.objects.all()
    joins = ("account",)
    serializer_class = ImageSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}   # a Disabled image makes no new VMs
    flow_actions = {"expunge": FlowAction(EXPUNGE_IMAGE, args=_expunge_args, doc=(
        "Remove a Deleted image's bits (kept while another image has the same sha256) and its row."))}

    def initialize_request(self, request, *args, **kwargs):
        """An upload's file goes to disk as it arrives (DiskUploadHandler): installed before anything
        reads the body, as a browser session's CSRF check does (it looks for the form's token)."""
        drf_request = super().initialize_request(request, *args, **kwargs)
        if self.action == "upload":
            request.upload_handlers = [DiskUploadHandler(request)]
        return drf_request

    def _added(self, data, args):
        """The image's row (Downloading) and the add-image flow that fetches and stores its bits."""
        image = Image.objects.create(
            name=data["name"], description=data.get("description", ""), url=data.get("url", ""),
            platform=data["platform"], guest_os_type=data.get("guest_os_type", ""),
            media_type=data.get("media_type") or "RootVolumeTemplate", account=self.request.user.account,
            public=data.get("public", False), status=ImageStatus.DOWNLOADING)
        if "upload_path" in args:
            final = upload_dir() / f"{image.uuid}.upload"
            os.replace(args["upload_path"], final)
            args["upload_path"] = str(final)
        return [FlowStart(image, ADD_IMAGE, {"image_uuid": str(image.uuid), "format": data.get("format"),
                                             "backup_storage_uuids": data["backup_storage_uuids"], **args})]

    def start_create(self, data):
        if data["url"].lower().startswith("file:") and not is_admin(self.request.user):
            raise PermissionDenied("only an admin account may add images from file:// URLs on the portal machine")
        return self._added(data, {"url": data["url"]})

    @extend_schema(request={"multipart/form-data": ImageUploadSerializer}, responses={202: None})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request):
        """Browser upload (multipart/form-data, the file in ``file``): streamed to disk, then the same
        detection, hashing and storing as a URL."""
        path = None
        try:
            uploaded = request.data.get("file")
            path = getattr(uploaded, "path", None)
            serializer = ImageUploadSerializer(data=request.data, context=self.get_serializer_context())
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            uploaded.close()
            response = self.start_flows(lambda: self._added({**data, "url": f"upload://{uploaded.name}"},
                                                            {"upload_path": path}))
            path = None
            return response
        finally:
            if path and os.path.exists(path):
                os.remove(path)

    def destroy(self, request, *args, **kwargs):
        """Mark the image Deleted (its bits stay until expunge; VMs can no longer be created from it)."""
        image = self.get_object()
        audit(request, action="images.delete", resource_type="Image", resource_uuid=image.uuid)
        return Response(self.get_serializer(_claim_status(image, "delete")).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def recover(self, request, uuid=None):
        image = self.get_object()
        audit(request, action="images.recover", resource_type="Image", resource_uuid=image.uuid)
        return Response(self.get_serializer(_claim_status(image, "recover")).data)



def _cluster_args(ps, data):
    cluster = data["cluster_uuid"]
    if cluster.zone_id != ps.zone_id:
        raise InvalidArgument(f"cluster {cluster.name} is in another zone than primary storage {ps.name}",
                              code="ZONE_MISMATCH", details={"cluster_uuid": [str(cluster.uuid)]})
    return {"primary_storage_uuid": str(ps.uuid), "cluster_uuid": str(cluster.uuid)}


def _attach_plan(ps, data):
    flow = ATTACH_SHARED_PRIMARY_STORAGE if ps.is_shared else ATTACH_PRIMARY_STORAGE
    return flow, _cluster_args(ps, data)


def _detach_plan(ps, data):
    flow = DETACH_SHARED_PRIMARY_STORAGE if ps.is_shared else DETACH_PRIMARY_STORAGE
    return flow, _cluster_args(ps, data)


class PrimaryStorageViewSet(ResourceViewSet):
    queryset = PrimaryStorage.objects.all()
    joins, prefetches = ("zone",), ("clusters", "host_refs")
    serializer_class = PrimaryStorageSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}
    flow_actions = {
        "attach": FlowAction(plan=_attach_plan, body=PrimaryStorageClusterSerializer,
                             doc="Attach to a cluster: every connected host reports the path's capacity "
                                 "(shared kinds: mounts it first) (202 + job)."),
        "detach": FlowAction(plan=_detach_plan, body=PrimaryStorageClusterSerializer,
                             doc="Detach from a cluster (shared kinds: its hosts unmount it) (202 + job)."),
    }

    @extend_schema(responses={200: None})
    @action(detail=True, methods=["get"])
    def hosts(self, request, uuid=None):
        """Capacity per host (LocalStorage)."""
        ps = self.get_object()
        rows = ps.host_refs.select_related("host").order_by("host__name")
        return Response({"results": [{
            "host_uuid": str(r.host.uuid), "host_name": r.host.name, "total_capacity": r.total_capacity,
            "used_capacity": r.used_capacity, "available_capacity": r.available_capacity,
            "available_physical_capacity": r.available_physical_capacity} for r in rows]})


class VolumePlanAction(FlowAction):
    """A volume action whose flow compute plans (it involves a VM: apps.storage.data_volumes.plan)."""

    def __init__(self, name, body, doc):
        super().__init__(plan=lambda volume, data: None, body=body, doc=doc)
        self.name = name

    def plan_for(self, view, resource, data):
        return data_volumes.plan(self.name, resource, data, view.request.user)


class DeleteVolumeAction(FlowAction):
    """DELETE: an attached data volume is detached first; then the recycle bin (volume.deletionPolicy
    Delay) or gone at once (Direct)."""

    def __init__(self):
        super().__init__(plan=lambda volume, data: None, doc=(
            "Delete a data volume (detached first): into the recycle bin, or expunged at once when "
            "volume.deletionPolicy is Direct (202 + job)."))

    def plan_for(self, view, resource, data):
        data_volumes.check_data_volume(resource)
        if resource.status == VolumeStatus.DELETED:
            raise InvalidState(f"volume {resource.name} is Deleted already: recover or expunge it",
                               details={"status": resource.status})
        args = {"volume_uuid": str(resource.uuid)}
        if resource.vm_instance_uuid is not None:
            flow, args = data_volumes.plan("delete-attached", resource, data, view.request.user)
        elif VOLUME_DELETION_POLICY.value() == "Direct":
            flow = DELETE_EXPUNGE_DATA_VOLUME
        else:
            flow = DELETE_DATA_VOLUME
        return flow, args


def _expunge_volume_args(volume, data):
    if volume.status != VolumeStatus.DELETED:
        raise InvalidState(f"volume {volume.name} is {volume.status}: only a Deleted volume is expunged",
                           details={"status": volume.status})
    return {"volume_uuid": str(volume.uuid)}


class VolumeViewSet(ResourceViewSet):
    """Volumes. Root volumes come and go with their VMs; data volumes are created here (202 + job),
    attached to and detached from VMs, grown, deleted to the recycle bin, recovered and expunged."""

    queryset = Volume.objects.all()
    joins = ("primary_storage", "host", "image", "account", "disk_offering")
    serializer_class = VolumeSerializer

    @extend_schema(request=CreateImageSerializer, responses={202: None})
    @action(detail=True, methods=["post"], url_path="create-image")
    def create_image(self, request, uuid=None):
        """Make an image of the volume: its host flattens the volume's chain to qcow2 and sends it to
        a backup storage (202 + job; 409 when its VM runs: stop the VM or snapshot the volume first)."""
        return create_image_from_volume(self, request)
    create_serializer_class = VolumeCreateSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]
    flow_actions = {
        "attach": VolumePlanAction("attach", VolumeAttachSerializer, (
            "Attach a data volume to a VM: hot on a running VM, at its next start on a stopped one; a "
            "NotInstantiated volume is made on the VM's host's primary storage first (202 + job).")),
        "detach": VolumePlanAction("detach", None, (
            "Detach a data volume from its VM; a running VM's guest must release it within "
            "volume.detach.timeout, else the job fails with DETACH_TIMEOUT (202 + job).")),
        "resize": VolumePlanAction("resize", VolumeResizeSerializer, (
            "Grow a volume (root or data), online when its VM runs (202 + job).")),
        "expunge": FlowAction(EXPUNGE_DATA_VOLUME, args=_expunge_volume_args, doc=(
            "Remove a Deleted volume for good: its file, the room it held and its row (202 + job).")),
    }
    delete_action = DeleteVolumeAction()

    def start_create(self, data):
        ps, host = data.get("primary_storage"), data.get("host")
        if ps is not None and host is None:   # shared storage: any connected host of its clusters
            host = Host.objects.filter(cluster__in=ps.clusters.all(), status=HostStatus.CONNECTED).first()
            if host is None:
                raise InvalidState(f"no connected host reaches primary storage {ps.name}",
                                   code="PRIMARY_STORAGE_NOT_REACHABLE")
        volume = Volume.objects.create(
            name=data["name"], description=data.get("description", ""), account=self.request.user.account,
            type=VolumeType.DATA, status=VolumeStatus.NOT_INSTANTIATED, size=data["size"], format="qcow2",
            disk_offering=data.get("disk_offering"), bus=data.get("bus", "virtio"))
        if ps is None:
            return [FlowStart(volume, CREATE_NOT_INSTANTIATED_VOLUME, {"volume_uuid": str(volume.uuid)})]
        return [FlowStart(volume, CREATE_DATA_VOLUME, {"volume_uuid": str(volume.uuid),
                                                       "primary_storage_uuid": str(ps.uuid),
                                                       "host_uuid": str(host.uuid)})]

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def recover(self, request, uuid=None):
        """A Deleted data volume comes back detached: Ready (or NotInstantiated when it had no file)."""
        volume = self.get_object()
        audit(request, action="volumes.recover", resource_type="Volume", resource_uuid=volume.uuid)
        with transaction.atomic():
            locked = Volume.objects.select_for_update().get(pk=volume.pk)
            if locked.busy_job:
                raise ResourceBusy(f"Volume {volume.uuid} is busy with job {locked.busy_job}",
                                   details={"job_uuid": str(locked.busy_job)})
            if locked.status != VolumeStatus.DELETED:
                raise InvalidState(f"volume {locked.name} is {locked.status}: only a Deleted volume is recovered",
                                   details={"status": locked.status})
            locked.status = VolumeStatus.READY if locked.install_path else VolumeStatus.NOT_INSTANTIATED
            locked.deleted_at = None
            locked.save(update_fields=["status", "deleted_at", "updated_at"])
        return Response(self.get_serializer(self.get_queryset().get(pk=volume.pk)).data)


class DiskOfferingViewSet(ResourceViewSet):
    """Disk offerings: sizes data volumes are made from (admins write, every account reads)."""

    queryset = DiskOffering.objects.all()
    serializer_class = DiskOfferingSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}

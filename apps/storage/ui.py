"""Storage's console pages (apps.core.ui): images, primary and backup storage, volumes."""
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages
from apps.core.ui.edit import FormView
from apps.core.ui.widgets import inputs

from .serializers import BackupStorageZoneSerializer, ImageUploadSerializer
from .volume_image_api import CreateImageSerializer
from .views import BackupStorageViewSet, DiskOfferingViewSet, ImageViewSet, PrimaryStorageViewSet, VolumeViewSet

UPLOAD_FIELDS = ["name", "description", "file", "backup_storage_uuids", "platform", "format", "media_type",
                 "guest_os_type", "public"]


class ImageUpload(FormView):
    """``images/upload/``: the browser sends the file straight to the API's ``images/upload/``
    (XMLHttpRequest, its progress shown as it goes; without JavaScript the form posts there
    itself), then opens the new image's page, where its add-image job is listed."""

    http_method_names = ["get", "head", "options"]   # the form posts to the API, never here

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "images", *args, **kwargs)

    def get(self, request):
        if not self.may("upload", "POST"):
            return self.not_found()
        serializer = ImageUploadSerializer(context={"request": request})
        fields = inputs(serializer, UPLOAD_FIELDS, {}, {}, self.pages.labels, self.choices())
        return self.page("storage/image_upload.html", {
            "title": _("Upload an image"), "fields": fields, "upload_url": reverse("images-upload"),
            "cancel_url": reverse("ui:list", kwargs={"basename": "images"}),
            "detail_url": reverse("ui:list", kwargs={"basename": "images"})})


STORAGE_LABELS = {"url": _("URL"), "total_capacity": _("Total capacity"),
                  "available_capacity": _("Available capacity"), "zone_uuids": _("Zones")}


class ImagePages(ResourcePages):
    viewset = ImageViewSet
    basename = "images"
    menu = (_("Storage"), _("Images"))
    order = 30
    columns = ["name", "status", "state", "media_type", "format", "size", "platform", "created_at"]
    fields = ["name", "description", "url", "backup_storage_uuids", "platform", "format", "media_type",
              "guest_os_type", "public"]
    options = {"backup_storage_uuids": "backup-storage"}
    actions = ["enable", "disable", Action("delete", destructive=True), "recover", "expunge"]
    labels = {"media_type": _("Media type"), "format": _("Format"), "size": _("Virtual size"),
              "actual_size": _("Actual size"), "platform": _("Platform"), "guest_os_type": _("Guest OS"),
              "public": _("Public"), "backup_storage_uuids": _("Backup storage"), "sha256": "SHA-256",
              "backup_storage_refs": _("Stored on"), "file": _("File")}
    related = [Related("volumes", "image_uuid", label=_("Volumes"))]
    search_example = "status=Ready"
    list_template = "storage/image_list.html"   # "Upload" beside "New" (by URL)

    @classmethod
    def extra_urls(cls):
        return [path("upload/", ImageUpload.as_view(), name="image-upload")]


class PrimaryStoragePages(ResourcePages):
    viewset = PrimaryStorageViewSet
    menu = (_("Storage"), _("Primary storage"))
    order = 31
    columns = ["name", "type", "zone_uuid", "state", "total_capacity", "available_capacity", "used_capacity"]
    fields = ["name", "description", "type", "url", "zone_uuid"]
    actions = ["enable", "disable", "attach", "detach", "delete"]
    labels = {**STORAGE_LABELS, "used_capacity": _("Used capacity"), "mount_path": _("Mount path"),
              "available_physical_capacity": _("Physically free"),
              "over_provisioning_ratio": _("Over-provisioning ratio")}
    related = [Related("volumes", "primary_storage_uuid", label=_("Volumes"))]
    search_example = "state=Enabled"


class BackupStoragePages(ResourcePages):
    viewset = BackupStorageViewSet
    menu = (_("Storage"), _("Backup storage"))
    order = 32
    columns = ["name", "type", "state", "status", "total_capacity", "available_capacity"]
    fields = ["name", "description", "type", "url"]
    actions = ["enable", "disable", "reconnect", Action("attach", body=BackupStorageZoneSerializer),
               Action("detach", body=BackupStorageZoneSerializer), "delete"]
    labels = STORAGE_LABELS
    related = [Related("images", "backup_storage_uuid", label=_("Images"))]
    search_example = "status=Connected"


class VolumePages(ResourcePages):
    """Volumes: root volumes come and go with their VMs; data volumes are made here (from a disk
    offering or a size), attached to a VM picked by name, detached, grown, deleted, recovered and
    expunged. A VM's page lists its volumes (Related on VmInstancePages)."""

    viewset = VolumeViewSet
    menu = (_("Storage"), _("Volumes"))
    order = 33
    columns = ["name", "type", "status", "size", "actual_size", "primary_storage_uuid", "vm_instance_uuid",
               "created_at"]
    fields = ["name", "description", "disk_offering_uuid", "size", "bus", "primary_storage_uuid", "host_uuid"]
    actions = [Action("attach", _("Attach to a VM")), "detach", Action("resize", _("Resize")),
               Action("delete", destructive=True), "recover", "expunge",
               Action("create-image", _("Create image"), body=CreateImageSerializer)]
    # the attach form's VM picker; the create-image form's backup storage picker
    options = {"vm_instance_uuid": "vm-instances", "backup_storage_uuids": "backup-storage"}
    sizes = ["size"]
    labels = {"size": _("Virtual size"), "actual_size": _("Actual size"), "format": _("Format"),
              "install_path": _("Install path"), "primary_storage_uuid": _("Primary storage"),
              "image_uuid": _("Image"), "vm_instance_uuid": _("VM"), "disk_offering_uuid": _("Disk offering"),
              "bus": _("Bus"), "device_target": _("Device"), "deleted_at": _("Deleted at"), "host_uuid": _("Host"),
              "backup_storage_uuids": _("Backup storage"), "platform": _("Platform"), "public": _("Public")}
    links = {"vm_instance_uuid": "vm-instances"}   # a plain uuid: storage knows no VM model
    search_example = "type=Data"


class DiskOfferingPages(ResourcePages):
    viewset = DiskOfferingViewSet
    menu = (_("Storage"), _("Disk offerings"))
    order = 34
    columns = ["name", "disk_size", "state", "created_at"]
    fields = ["name", "description", "disk_size"]
    actions = ["enable", "disable", "delete"]
    sizes = ["disk_size"]
    labels = {"disk_size": _("Disk size")}
    related = [Related("volumes", "disk_offering_uuid", label=_("Volumes"))]
    search_example = "state=Enabled"


from .snapshot_ui import VolumeSnapshotGroupPages, VolumeSnapshotPages, add_console_actions  # noqa: E402,F401

add_console_actions(volume_pages=VolumePages)   # a volume's page lists its snapshots

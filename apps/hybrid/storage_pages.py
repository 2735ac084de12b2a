"""The console pages of the hybrid cloud's storage (apps.core.ui): OSS buckets with their objects,
ECS images with the upload of a local image, ECS data disks with their actions. They sit in the
"Hybrid cloud" menu after ui.py's pages, and show the cloud's times in the site's time zone as
those do (H11)."""
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages, add_detail_panel
from apps.core.ui.apicall import call
from apps.core.ui.base import PageView
from apps.core.ui.cells import human_bytes

from .storage_views import EcsDiskViewSet, EcsImageViewSet, OssBucketViewSet
from .ui import DELETE_HERE, DELETE_IN_CLOUD, HYBRID, LABELS, in_site_zone

STORAGE_LABELS = {
    **LABELS,
    "bucket_name": _("Bucket name"), "location": _("Location"), "storage_class": _("Storage class"),
    "acl": _("ACL"), "data_redundancy_type": _("Redundancy"), "extranet_endpoint": _("Internet endpoint"),
    "intranet_endpoint": _("Internal endpoint"), "owner_alias": _("Owner"), "os_type": _("OS type"),
    "platform": _("Platform"), "architecture": _("Architecture"), "image_family": _("Image family"),
    "progress": _("Progress (%)"), "local_image_uuid": _("Local image"), "oss_bucket_uuid": _("OSS bucket"),
    "oss_object": _("OSS object"), "keep_oss_object": _("Keep the uploaded file"), "disk_id": _("Disk ID"),
    "disk_type": _("Disk type"), "category": _("Category"), "performance_level": _("Performance level"),
    "disk_charge_type": _("Billing"), "ecs_instance_uuid": _("ECS instance"), "device": _("Device"),
    "portable": _("Detachable"), "delete_with_instance": _("Deleted with the instance"),
}
TIMES = {"remote_created_at": in_site_zone}
# the rows a plain uuid field names, shown by their name linking to their page
LINKS = {"data_center_uuid": "alibaba-data-centers", "identity_zone_uuid": "alibaba-identity-zones",
         "ecs_instance_uuid": "ecs-instances", "oss_bucket_uuid": "oss-buckets", "local_image_uuid": "images"}


class OssBucketPages(ResourcePages):
    viewset = OssBucketViewSet
    basename = "oss-buckets"
    menu = (HYBRID, _("OSS buckets"))
    order = 80
    columns = ["name", "state", "region_id", "storage_class", "acl", "remote_created_at"]
    row_fields = ["time_zone"]
    fields = ["bucket_name", "description", "data_center_uuid", "acl", "storage_class", "data_redundancy_type"]
    edit_fields = ["description"]
    options = {"data_center_uuid": "alibaba-data-centers"}
    actions = [DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    links = LINKS
    labels = STORAGE_LABELS
    related = [Related("ecs-images", "oss_bucket_uuid", label=_("Images uploaded through it"))]
    search_example = "region_id=cn-hangzhou"
    detail_template = "hybrid/oss_bucket_detail.html"

    @classmethod
    def extra_urls(cls):
        return [path("<uuid:uuid>/objects/", OssObjectsView.as_view(), name="oss-bucket-objects")]


class OssObjectsView(PageView):
    """A page of the bucket's objects (the API's ``objects``), with the next page's link."""

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "oss-buckets", *args, **kwargs)

    def get(self, request, uuid):
        bucket = call(request, "GET", reverse("oss-buckets-detail", kwargs={"uuid": uuid}))
        if not bucket.ok:
            return self.failed(bucket)
        query = {k: request.GET.get(k, "") for k in ("prefix", "marker", "delimiter") if request.GET.get(k)}
        page = call(request, "GET", reverse("oss-buckets-objects", kwargs={"uuid": uuid}), query)
        if not page.ok:
            return self.failed(page)
        return self.page("hybrid/oss_objects.html", {"bucket": bucket.data, "answer": page.data, "query": query,
                                                      "uuid": uuid})


def bucket_panel(request, data):
    """A bucket's detail page: what it holds and how it is set now (the API's ``info``, asked of
    the cloud); the cloud's refusal as a sentence. Nothing for a bucket not Available."""
    if data.get("state") != "Available":
        return ""
    answer = call(request, "GET", reverse("oss-buckets-info", kwargs={"uuid": data["uuid"]}))
    info = dict(answer.data, storage=human_bytes(answer.data["storage_size"])) if answer.ok else None
    return render_to_string("hybrid/_bucket_info.html", {"info": info, "error": "" if answer.ok else answer.message},
                            request=request)


add_detail_panel("oss-buckets", bucket_panel)


def instance_disks_panel(request, data):
    """An ECS instance's detail page: the data disks attached to it (as the syncs and flows saw
    them), each linking to its page, where it is detached."""
    answer = call(request, "GET", reverse("ecs-disks-list"), {
        "q": f"ecs_instance_uuid={data['uuid']}", "fields": "uuid,name,disk_id,state,size,device", "limit": "50"})
    if not answer.ok:
        return ""
    disks = [dict(row, size=human_bytes(row["size"])) for row in answer.data.get("results", [])]
    return render_to_string("hybrid/_instance_disks.html", {"disks": disks, "instance": data}, request=request)


add_detail_panel("ecs-instances", instance_disks_panel)


class EcsImagePages(ResourcePages):
    viewset = EcsImageViewSet
    basename = "ecs-images"
    menu = (HYBRID, _("ECS images"))
    order = 81
    columns = ["name", "image_id", "state", "owner_alias", "os_name", "size", "region_id"]
    row_fields = ["time_zone"]
    fields = ["name", "description", "local_image_uuid", "oss_bucket_uuid", "os_type", "platform", "architecture",
              "keep_oss_object"]
    edit_fields = ["description"]
    options = {"local_image_uuid": "images", "oss_bucket_uuid": "oss-buckets"}
    actions = [DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    links = LINKS
    labels = STORAGE_LABELS
    after_create = "job"   # the upload, with its progress
    search_example = "owner_alias=self"


class EcsDiskPages(ResourcePages):
    viewset = EcsDiskViewSet
    basename = "ecs-disks"
    menu = (HYBRID, _("ECS disks"))
    order = 82
    columns = ["name", "disk_id", "state", "category", "size", "zone_id", "instance_id", "disk_charge_type"]
    row_fields = ["time_zone"]
    fields = ["name", "description", "identity_zone_uuid", "size", "category", "performance_level",
              "disk_charge_type", "ecs_instance_uuid"]
    edit_fields = ["description"]
    options = {"identity_zone_uuid": "alibaba-identity-zones", "ecs_instance_uuid": "ecs-instances"}
    sizes = ["size"]
    actions = [Action("attach", _("Attach"), destructive=False), Action("detach", _("Detach"), destructive=False),
               Action("rename", _("Rename"), destructive=False),
               Action("charge-type", _("Change billing"), destructive=False),
               DELETE_IN_CLOUD, DELETE_HERE]
    cells = TIMES
    links = LINKS
    labels = STORAGE_LABELS
    search_example = "state=Available"

"""The hybrid cloud's console pages (apps.core.ui): AccessKeys, data centres (with their sync),
identity zones and ECS instances with their actions. The cloud's times of a site are shown in the
site's time zone (H11)."""
import zoneinfo
from datetime import datetime
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages, add_detail_panel
from apps.core.ui.apicall import call
from apps.core.ui.base import PageView
from apps.core.ui.edit import FormView
from apps.core.ui.cells import Cell

from .views import AccessKeyViewSet, DataCenterViewSet, EcsInstanceViewSet, IdentityZoneViewSet

HYBRID = _("Hybrid cloud")
# every mirrored cloud resource's two deletes: in the cloud (then here), and here only
DELETE_IN_CLOUD = Action("delete", _("Delete in the cloud"), destructive=True)
DELETE_HERE = Action("delete-here", _("Delete here"), destructive=True)
LABELS = {
    "access_key_id": _("AccessKey ID"), "access_key_secret": _("AccessKey secret"), "is_default": _("Default"),
    "access_key_uuid": _("AccessKey"), "region_id": _("Region"), "local_name": _("Local name"),
    "time_zone": _("Time zone"), "last_synced_at": _("Last synced"), "zone_id": _("Zone"),
    "available_instance_types": _("Instance types"), "data_center_uuid": _("Data centre"),
    "identity_zone_uuid": _("Identity zone"), "instance_id": _("Instance ID"), "instance_type": _("Instance type"),
    "image_id": _("Image ID"), "cpu_num": _("CPUs"), "memory_size": _("Memory"),
    "instance_charge_type": _("Billing"), "internet_charge_type": _("Internet billing"),
    "internet_max_bandwidth_out": _("Outbound bandwidth (Mbit/s)"), "vpc_id": _("VPC"), "v_switch_id": _("vSwitch"),
    "security_group_id": _("Security group"), "security_group_ids": _("Security groups"),
    "private_ips": _("Private IPs"), "public_ips": _("Public IPs"), "eip_address": _("EIP"),
    "host_name": _("Host name"), "os_name": _("Operating system"), "remote_created_at": _("Created in the cloud"),
    "expired_at": _("Expires"), "system_disk_category": _("System disk category"),
    "system_disk_size": _("System disk size (GiB)"), "password": _("Password"), "count": _("How many"),
    "force": _("Force"), "period": _("Period"), "period_unit": _("Period unit"),
    "v_switch_uuid": _("vSwitch (synced)"), "security_group_uuid": _("Security group (synced)"),
    "data_disk_sizes": _("Data disks (GiB each)"), "data_disk_category": _("Data disk category"),
    "eip_bandwidth": _("EIP bandwidth (Mbit/s, 0: none)"),
}


def in_site_zone(value, row):
    """A time of the cloud in the data centre's time zone (``row["time_zone"]``), UTC in its title."""
    if not value:
        return Cell("—")
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        zone = zoneinfo.ZoneInfo(row.get("time_zone") or "UTC")
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return Cell(str(value))
    local = moment.astimezone(zone)
    return Cell(f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}", title=f"{value} ({zone.key})")


class AccessKeyPages(ResourcePages):
    viewset = AccessKeyViewSet
    basename = "alibaba-access-keys"
    menu = (HYBRID, _("AccessKeys"))
    order = 70
    columns = ["name", "access_key_id", "is_default", "created_at"]
    fields = ["name", "description", "access_key_id", "access_key_secret", "is_default"]
    edit_fields = ["name", "description"]
    actions = [Action("set-default", _("Make default"), destructive=False), Action("delete", destructive=True)]
    labels = LABELS
    related = [Related("alibaba-data-centers", "access_key_uuid", label=_("Data centres"))]
    search_example = "is_default=true"


class DataCenterFormView(FormView):
    """The generic form, a new data centre's filled from the query (``?region_id=...&access_key_uuid=...``:
    what a key's page links each of its regions to)."""

    def get(self, request, uuid=None):
        if uuid is None:
            return self.form(None, {name: request.GET[name] for name in ("region_id", "access_key_uuid", "time_zone")
                                    if name in request.GET})
        return super().get(request, uuid)


class DataCenterPages(ResourcePages):
    viewset = DataCenterViewSet
    basename = "alibaba-data-centers"
    menu = (HYBRID, _("Data centres"))
    order = 71
    columns = ["name", "region_id", "local_name", "time_zone", "last_synced_at", "created_at"]
    row_fields = ["time_zone"]
    fields = ["name", "description", "region_id", "access_key_uuid", "time_zone"]
    edit_fields = ["name", "description", "access_key_uuid", "time_zone"]
    options = {"access_key_uuid": "alibaba-access-keys"}
    actions = [Action("sync", _("Sync"), destructive=False),
               Action("delete", _("Delete here"), destructive=True)]
    cells = {"last_synced_at": in_site_zone}
    labels = LABELS
    related = [Related("alibaba-identity-zones", "data_center_uuid", label=_("Identity zones")),
               Related("ecs-instances", "data_center_uuid", label=_("ECS instances"))]
    after_create = "job"   # the sync it starts
    views = {"form": DataCenterFormView}
    search_example = "region_id=cn-hangzhou"


class IdentityZonePages(ResourcePages):
    viewset = IdentityZoneViewSet
    basename = "alibaba-identity-zones"
    menu = (HYBRID, _("Identity zones"))
    order = 72
    columns = ["name", "zone_id", "state", "data_center_uuid", "created_at"]
    labels = LABELS
    related = [Related("ecs-instances", "identity_zone_uuid", label=_("ECS instances"))]
    search_example = "state=Available"


class EcsInstancePages(ResourcePages):
    viewset = EcsInstanceViewSet
    basename = "ecs-instances"
    menu = (HYBRID, _("ECS instances"))
    order = 73
    columns = ["name", "instance_id", "state", "instance_type", "zone_id", "private_ips", "public_ips", "created_at"]
    row_fields = ["time_zone"]
    # the image and network picked among the synced ones (the API also takes the cloud's ids)
    fields = ["name", "description", "identity_zone_uuid", "instance_type", "ecs_image_uuid", "v_switch_uuid",
              "security_group_uuid", "instance_charge_type", "internet_charge_type", "internet_max_bandwidth_out",
              "system_disk_category", "system_disk_size", "data_disk_sizes", "data_disk_category", "eip_bandwidth",
              "password", "count"]
    edit_fields = ["description"]
    options = {"identity_zone_uuid": "alibaba-identity-zones", "ecs_image_uuid": "ecs-images",
               "v_switch_uuid": "alibaba-v-switches", "security_group_uuid": "alibaba-security-groups"}
    actions = ["start", "stop", "reboot", Action("rename", _("Rename"), destructive=False),
               Action("change-password", _("Change password"), destructive=False),
               Action("charge-type", _("Change billing"), destructive=False),
               Action("vnc-password", _("Set VNC password"), destructive=False),
               DELETE_IN_CLOUD, DELETE_HERE]
    cells = {"remote_created_at": in_site_zone, "expired_at": in_site_zone}
    labels = LABELS
    search_example = "state=Running"
    detail_template = "hybrid/ecs_detail.html"

    @classmethod
    def extra_urls(cls):
        return [path("<uuid:uuid>/vnc/", OpenVncView.as_view(), name="ecs-open-vnc")]


def regions_panel(request, data):
    """A key's detail page: the regions the cloud offers it (asked now, through the API), each
    with the data centre the account made of it, if any; the cloud's refusal as a sentence."""
    answer = call(request, "GET", reverse("alibaba-access-keys-regions", kwargs={"uuid": data["uuid"]}))
    regions, error = (answer.data, "") if answer.ok else ([], answer.message)
    centers = call(request, "GET", reverse("alibaba-data-centers-list"),
                   {"q": f"access_key_uuid={data['uuid']}", "fields": "uuid,name,region_id", "limit": "500"})
    made = {row["region_id"]: row for row in (centers.data or {}).get("results", [])} if centers.ok else {}
    new = reverse("ui:create", kwargs={"basename": "alibaba-data-centers"})
    for region in regions:
        region["data_center"] = made.get(region["region_id"])
        region["add_url"] = f"{new}?{urlencode({'region_id': region['region_id'], 'access_key_uuid': data['uuid']})}"
    return render_to_string("hybrid/_regions.html", {"regions": regions, "error": error}, request=request)


add_detail_panel("alibaba-access-keys", regions_panel)


class OpenVncView(PageView):
    """POST: the API's VNC address of the instance, then Alibaba's web VNC page opening it (the
    button opens it in a tab of its own); the API's refusal (a stopped instance: 409) as a page."""

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "ecs-instances", *args, **kwargs)

    def post(self, request, uuid):
        answer = call(request, "POST", reverse("ecs-instances-vnc-url", kwargs={"uuid": uuid}))
        if not answer.ok:
            return self.failed(answer)
        return redirect(answer.data["console_url"])

from . import oneview_pages  # noqa: E402,F401 - the one view's mapping pages (H12)

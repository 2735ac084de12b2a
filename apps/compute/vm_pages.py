"""The VM pages beyond the generic ones: the create wizard with the API's dry-run placement, the
detail page's NICs and console button, and opening the console.

Like every console page they call the API in-process (apps.core.ui.apicall): what a create may
ask, where a VM would go ("nothing fits" included), which actions a VM's state allows and who
may see it are the API's answers, shown as it gives them.
"""
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from apps.core.errors import CloudPortalError
from apps.core.tenancy import visible
from apps.core.ui import site
from apps.core.ui.apicall import call, list_path
from apps.core.ui.base import PageView, is_htmx
from apps.core.ui.browse import DetailView
from apps.core.ui.cells import Cell, human_bytes, related_names
from apps.core.ui.edit import FormView, go
from apps.core.ui.widgets import inputs
from apps.infra.models import Cluster, Host
from apps.network.models import L3Network
from apps.storage.models import PrimaryStorage

from . import vm_clouds
from .console.service import check_console
from .models import VmInstance
from .serializers import VmCreateSerializer

# the wizard's steps: (anchor, the create request's fields it asks for); the networks step's
# l3_network_uuids and static_ips are a table of their own
STEPS = [
    ("vm-name", ["name", "description", "count", "start"]),
    ("vm-image", ["image_uuid"]),
    ("vm-size", ["instance_offering_uuid", "cpu_num", "memory_size", "root_disk_size"]),
    ("vm-networks", []),
    ("vm-placement", ["zone_uuid", "cluster_uuid", "host_uuid", "allocator_strategy", "identity_zone_uuid",
                      "ha_level"]),
    ("vm-guest", ["hostname", "ssh_keys", "user_data", "video_type", "guest_agent", "boot_order", "cpu_max",
                  "memory_max", "root_iops_limit", "root_bandwidth_limit", "inbound_bandwidth", "outbound_bandwidth"]),
]
CLOUD_ONLY = ("identity_zone_uuid",)   # shown once a public cloud's app is installed (vm_clouds)
ROWS = 500


def step_titles():
    # literal, so that makemessages finds them
    return {"vm-name": _("Name"), "vm-image": _("Image"), "vm-size": _("Size"), "vm-networks": _("Networks"),
            "vm-placement": _("Placement"), "vm-check": _("Check and create"), "vm-guest": _("Guest setup")}


def nic_ips(value, row):
    """The list's cell for a VM's NICs: their addresses."""
    ips = [Cell(nic["ip"], title=nic.get("mac") or "") for nic in value or [] if nic.get("ip")]
    return Cell(items=ips) if ips else Cell("—")


def hypervisor_cell(value, row):
    """The list's cell for where a VM runs: a local hypervisor's name, or a public cloud's marked as
    such with the cloud's zone (apps/compute/vm_clouds.py)."""
    if row.get("cloud_zone_id"):
        return Cell(items=[Cell(value, badge="orange", title=_("Runs in a public cloud")),
                           Cell(row["cloud_zone_id"])])
    return Cell(value or "—")


def api_action(action):
    """The API's name of a page action (DELETE is the VM's destroy)."""
    return "destroy" if action.name == "delete" else action.name


def detail_link(model, uuid):
    pages = site.for_model(model)
    return reverse("ui:detail", kwargs={"basename": pages.api_basename(), "uuid": uuid}) if pages and uuid else ""


def l3_cells(request, uuids):
    """``{l3 uuid: Cell}``: each L3 network's name (as this user sees it) linking to its page."""
    names = related_names([{"l3": u} for u in uuids], {"l3": L3Network}, request.user)
    return {u: Cell(names.get(u, u[:8]), href=detail_link(L3Network, u), title=u) for u in uuids}


class VmDetailView(DetailView):
    """The generic detail page, with the VM's NICs, only the actions its state allows (the API's
    state table) and the console button (disabled, with the API's reason, when it would refuse)."""

    def page(self, template, context, status=200):
        vm = context.get("object")
        if vm:
            machine = VmInstance.state_machine
            allowed = set(machine.allowed_actions(vm["state"]))
            context["actions"] = [(action, asks) for action, asks in context["actions"]
                                  if api_action(action) not in machine.actions or api_action(action) in allowed]
            cloud = vm_clouds.VM_CLOUDS.get(vm.get("hypervisor_type"))
            if cloud is not None:   # a VM of a public cloud: the actions its cloud offers
                context["actions"] = [(action, asks) for action, asks in context["actions"]
                                      if api_action(action) in cloud.actions]
            nics = sorted(vm.get("nics") or [], key=lambda nic: nic.get("device_id") or 0)
            l3s = l3_cells(self.request, [nic["l3_network_uuid"] for nic in nics])
            context["nics"] = [{**nic, "l3": l3s[nic["l3_network_uuid"]]} for nic in nics]
            if self.may("console", "POST") and cloud is None:   # a cloud's VM: its cloud's console (ECS page)
                context["console"] = {"refused": console_refusal(self.request, vm["uuid"])}
        return super().page(template, context, status)


def console_refusal(request, uuid):
    """Why the API would refuse the VM's console now, in its words ("" when it would open one):
    the button is shown disabled with the reason rather than failing in a new tab."""
    vm = visible(VmInstance.objects.select_related("host"), request.user).filter(uuid=uuid).first()
    if vm is None:
        return _("Not found: it does not exist, or your account may not see it.")
    try:
        check_console(vm)
    except CloudPortalError as exc:
        return exc.message
    return ""


class OpenConsoleView(PageView):
    """POST: the API's console token for the VM, then its noVNC page (the button opens this in a
    tab of its own). A VM without a console gets the API's 409 sentence."""

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "vm-instances", *args, **kwargs)

    def post(self, request, uuid):
        answer = call(request, "POST", reverse("vm-instances-console", kwargs={"uuid": uuid}))
        if not answer.ok:
            return self.failed(answer)
        return redirect(answer.data["console_url"])


def error_messages(value):
    """The messages of a field's error, however nested (a list item's, a dict key's)."""
    if isinstance(value, dict):
        return [message for one in value.values() for message in error_messages(one)]
    if isinstance(value, list):
        return [message for one in value for message in error_messages(one)]
    return [str(value)]


class VmCreateView(FormView):
    """``new/``: the create wizard, one page of steps. "Check placement" posts the form to the
    API's create with ``?dry_run=true`` and shows its answer; "Create" posts it to the create
    itself (202 and a job per VM). ``<uuid>/edit/`` stays the generic form (name, description)."""

    def get(self, request, uuid=None):
        if uuid is not None:
            return super().get(request, uuid)
        return self.wizard({})

    def post(self, request, uuid=None):
        if uuid is not None:
            return super().post(request, uuid)
        status = 200 if is_htmx(request) else 400
        if request.POST.get("check") == "placement":
            answer = call(request, "POST", self.list_path(), {"dry_run": "true"})
            if answer.status == 400:
                return self.wizard(request.POST, answer, status=status)
            return self.wizard(request.POST, placement=answer, status=200 if answer.ok else status)
        answer = call(request, "POST", self.list_path())
        if answer.ok:
            return self.created(answer.data)
        return self.wizard(request.POST, answer, status=status)

    def created(self, data):
        """One VM: its job's page (the steps as they run). Several: the list of those VMs."""
        jobs = data.get("jobs") or [data["job"]]
        if "job" in data:
            job = jobs[0]
            url = reverse("ui:detail", kwargs={"basename": "jobs", "uuid": job["uuid"]})
            messages.success(self.request, format_html(
                _("Creating VM {name}: job {job} started."), name=data["resource"]["name"],
                job=format_html('<a href="{}">{}</a>', url, job["uuid"][:8])))
            return go(self.request, url)
        uuids = ",".join(vm["uuid"] for vm in data["resources"])
        if len(jobs) <= self.pages.list_limit:   # those rows exactly (a URL of a sensible length)
            vms, their_jobs = {"q": f"uuid?={uuids}"}, {"q": f"resource_uuid?={uuids}"}
        else:                                    # the newest first
            vms = their_jobs = {"ordering": "-created_at"}
        jobs_url = reverse("ui:list", kwargs={"basename": "jobs"}) + "?" + urlencode(their_jobs)
        messages.success(self.request, format_html(
            _("Creating {count} VMs: {jobs}."), count=len(jobs),
            jobs=format_html('<a href="{}">{}</a>', jobs_url, _("their jobs"))))
        return go(self.request, reverse("ui:list", kwargs={"basename": self.basename}) + "?" + urlencode(vms))

    # --- the page --------------------------------------------------------------------------
    def wizard(self, values, answer=None, placement=None, status=200):
        request = self.request
        serializer = VmCreateSerializer(context={"request": request})
        details = (answer.data.get("details") or {}) if answer is not None and answer.code == "INVALID_ARGUMENT" \
            else {}
        errors = {name: error_messages(value) for name, value in details.items()}
        titles = step_titles()
        steps = [{"id": anchor, "title": titles[anchor]} for anchor, _names in STEPS]
        names = [name for _anchor, step_names in STEPS for name in step_names
                 if vm_clouds.VM_CLOUDS or name not in CLOUD_ONLY]
        fields = {one.name: one for one in inputs(serializer, names, values, errors, self.pages.labels,
                                                   choices={"identity_zone_uuid": self.cloud_zones()},
                                                   sizes=self.pages.sizes)}
        fields["image_uuid"].options = self.options("images", ["status=Ready", "state=Enabled"], image_label)
        fields["instance_offering_uuid"].options = self.options("instance-offerings", ["state=Enabled"],
                                                                offering_label)
        networks = self.networks(values, details.get("static_ips"))
        shown = set(fields) | {"l3_network_uuids", "static_ips"}
        general = answer.message if answer is not None and not set(errors) & shown else ""
        context = {
            "title": _("New: %(what)s") % {"what": self.pages.title()},
            "steps": steps, "check_title": titles["vm-check"],
            "fields": fields, "networks": networks,
            "network_errors": errors.get("l3_network_uuids", []) + (
                errors.get("static_ips", []) if not isinstance(details.get("static_ips"), dict) else []),
            "error": general,
            "placement": self.placement(placement) if placement is not None else None,
            "cancel_url": reverse("ui:list", kwargs={"basename": self.basename}),
        }
        template = "compute/_vm_create_form.html" if is_htmx(request) and request.method == "POST" \
            else "compute/vm_create.html"
        return self.page(template, context, status=status)

    def options(self, basename, conditions, label):
        """``[(uuid, label)]`` of the rows of another API list this user sees."""
        answer = call(self.request, "GET", list_path(basename),
                      {"q": conditions, "limit": ROWS, "ordering": "name"})
        return [(row["uuid"], label(row)) for row in answer.data["results"]] if answer.ok else []

    def cloud_zones(self):
        """``[(uuid, label)]`` of the public clouds' zones a VM can be created in (vm_clouds)."""
        return [option for cloud in vm_clouds.VM_CLOUDS.values()
                for option in self.options(cloud.zone_list, list(cloud.zone_conditions), cloud.zone_label)]

    def networks(self, values, static_errors):
        """The L3 networks this user sees, each with its checkbox and its optional static IP."""
        answer = call(self.request, "GET", list_path("l3-networks"), {"limit": ROWS, "ordering": "name"})
        rows = answer.data["results"] if answer.ok else []
        chosen = set(values.getlist("l3_network_uuids")) if hasattr(values, "getlist") else set()
        static_errors = static_errors if isinstance(static_errors, dict) else {}
        links = l3_cells(self.request, [row["uuid"] for row in rows])
        return [{"uuid": row["uuid"], "name": links[row["uuid"]], "category": row.get("category", ""),
                 "ranges": ", ".join(f"{r['start_ip']}–{r['end_ip']}" for r in row.get("ip_ranges") or []),
                 "gateway": row.get("gateway") or "", "chosen": row["uuid"] in chosen,
                 "static_ip": values.get(f"static_ips.{row['uuid']}", "") if hasattr(values, "get") else "",
                 "errors": error_messages(static_errors.get(row["uuid"], []))}
                for row in rows]

    def placement(self, answer):
        """What the dry run answered: where the VM would go, or why nothing fits."""
        if not answer.ok:
            return {"ok": False, "status": answer.status, "message": answer.message, "code": answer.code,
                    "details": sorted((answer.data.get("details") or {}).items())
                    if isinstance(answer.data, dict) else []}
        plan = answer.data["placement"]
        host = plan.get("host") or {}
        storage = plan.get("primary_storage")
        l3s = l3_cells(self.request, [nic["l3_network_uuid"] for nic in plan.get("nics") or []])
        return {
            "ok": True,
            "host": Cell(host.get("name") or "—", href=detail_link(Host, host.get("uuid")), title=host.get("uuid", "")),
            "host_uuid": host.get("uuid", ""),
            "cluster": self.named(Cluster, host.get("cluster_uuid")),
            "primary_storage": Cell(storage["name"], href=detail_link(PrimaryStorage, storage["primary_storage_uuid"]),
                                    title=storage["primary_storage_uuid"]) if storage else Cell("—"),
            "primary_storage_available": human_bytes(storage["available_capacity"]) if storage and
            storage.get("available_capacity") is not None else "",
            "nics": [{"l3": l3s[nic["l3_network_uuid"]], "ip": nic["ip"]} for nic in plan.get("nics") or []],
        }

    def named(self, model, uuid):
        if not uuid:
            return Cell("—")
        names = related_names([{"x": uuid}], {"x": model}, self.request.user)
        return Cell(names.get(uuid, uuid[:8]), href=detail_link(model, uuid), title=uuid)


def image_label(row):
    details = [row.get(name) for name in ("format", "platform") if row.get(name)]
    if row.get("size"):
        details.append(human_bytes(row["size"]))
    return f"{row['name']} ({', '.join(details)})" if details else row["name"]


def offering_label(row):
    return _("%(name)s (%(cpus)s CPUs, %(memory)s)") % {
        "name": row["name"], "cpus": row["cpu_num"], "memory": human_bytes(row["memory_size"])}

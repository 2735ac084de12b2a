"""Core's own pages: jobs, audit logs, global configs (grouped by category, edited in place)."""
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from ..api.views import AuditLogViewSet, GlobalConfigViewSet, JobViewSet
from .apicall import call
from .base import PageView, is_htmx
from .cells import plain
from .pages import Action, ResourcePages


class JobPages(ResourcePages):
    viewset = JobViewSet
    menu = (_("Activity"), _("Jobs"))
    order = 900
    columns = ["action", "state", "progress", "resource_type", "resource_uuid", "created_at", "finished_at"]
    actions = [Action("cancel", destructive=True)]
    labels = {"flow": _("Flow"), "steps": _("Steps"), "result": _("Result"), "cancel_requested": _("Cancel requested"),
              "request_id": _("Request id")}
    search_example = "state=failed"
    with_history = False
    detail_template = "ui/job.html"


class AuditLogPages(ResourcePages):
    viewset = AuditLogViewSet
    menu = (_("Activity"), _("Audit log"))
    order = 910
    columns = ["created_at", "user_name", "method", "path", "action", "result", "status_code"]
    labels = {"user_name": _("User"), "method": _("Method"), "path": _("Path"), "result": _("Result"),
              "status_code": _("HTTP status"), "error_code": _("Error code"), "duration_ms": _("Duration (ms)"),
              "client_ip": _("Client address")}
    search_example = "result=failure"
    with_history = False


class GlobalConfigList(PageView):
    """Every global config, grouped by category, each value a small form saved in place."""

    def get(self, request):
        answer = call(request, "GET", self.list_path(), {"limit": 1000, "ordering": "category,name"})
        if not answer.ok:
            return self.failed(answer)
        groups = {}
        for row in answer.data["results"]:
            groups.setdefault(row["category"], []).append(self.row(row))
        return self.page("ui/global_configs.html", {"title": self.pages.title(), "groups": sorted(groups.items())})

    def row(self, row, error=""):
        return {**row, "shown": plain("value", row["value"]), "default": plain("default_value", row["default_value"]),
                "changed": row["value"] != row["default_value"], "error": error, "editable": self.admin,
                "url": reverse("ui:global-config", kwargs={"category": row["category"], "name": row["name"]})}


class GlobalConfigValue(GlobalConfigList):
    """POST ``value`` (or ``reset``): the API's PATCH (or DELETE) of one config; htmx swaps the row."""

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "global-configs", *args, **kwargs)

    def post(self, request, category, name):
        api = reverse("global-config-detail", kwargs={"category": category, "name": name})
        answer = call(request, "DELETE" if request.POST.get("reset") else "PATCH", api)
        error = "" if answer.ok else answer.message
        if not answer.ok:
            current = call(request, "GET", api)
            if not current.ok:
                return self.failed(current)
            answer = current
        row = self.row(answer.data, error)
        if is_htmx(request):
            return self.page("ui/_global_config_row.html", {"row": row}, status=200)
        return self.page("ui/global_configs.html", {"title": self.pages.title(),
                                                    "groups": [(category, [row])]}, status=200 if not error else 400)


class GlobalConfigPages(ResourcePages):
    viewset = GlobalConfigViewSet
    basename = "global-configs"
    menu = (_("Settings"), _("Global configs"))
    order = 950
    views = {"list": GlobalConfigList}

    @classmethod
    def extra_urls(cls):
        return [path("<str:category>/<str:name>/", GlobalConfigValue.as_view(), name="global-config")]

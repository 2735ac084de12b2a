"""Core's own pages: jobs, audit and change logs, tags, global configs (grouped by category, edited in
place)."""
import json
from functools import cached_property

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _, ngettext

from ..api.views import (
    AuditLogViewSet,
    ChangeLogViewSet,
    GlobalConfigDetail,
    GlobalConfigViewSet,
    JobViewSet,
    TagViewSet,
)
from ..models import FINISHED_STATES
from .apicall import call, permitted
from .base import PageView, is_htmx
from .browse import DetailView
from .cells import Cell, plain, state_colour
from .labels import state_word
from .pages import Action, ResourcePages
from .tagging import TagsOnView


def duration(ms):
    """A step's ``duration_ms`` as read: ``350 ms``, ``2.5 s``, ``3 min 20 s``."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def readable_step(step):
    """One record of a job's ``steps`` as the job page lists it: its name, state, how long it
    took, and what went wrong (its error, a failed rollback)."""
    if not isinstance(step, dict):
        step = {"name": str(step)}
    state = step.get("state") or ""
    error = step.get("error") if isinstance(step.get("error"), dict) else {}
    rollback_error = step.get("rollback_error") if isinstance(step.get("rollback_error"), dict) else {}
    started = (step.get("started_at") or "")[:19].replace("T", " ")
    return {"name": step.get("name") or "—", "state": state_word(state), "colour": state_colour(state),
            "duration": duration(step.get("duration_ms")), "started_at": started,
            "error": error.get("message", ""), "code": error.get("code", ""), "detail": step.get("detail") or "",
            "rollback": state_word(step.get("rollback") or ""), "rollback_error": rollback_error.get("message", "")}


class JobDetailView(DetailView):
    """A job: its fields, then its steps once, each readable (the error in its own box)."""

    def more_context(self, data):
        more = {"steps": [readable_step(step) for step in data.get("steps") or []]}
        if data.get("state") in FINISHED_STATES:   # what the API's cancel refuses (409)
            more["actions"] = []
        return more


class JobPages(ResourcePages):
    viewset = JobViewSet
    menu = (_("Activity"), _("Jobs"))
    order = 900
    columns = ["action", "state", "progress", "resource_type", "resource_uuid", "created_at", "finished_at"]
    search_field = "action"
    actions = [Action("cancel", destructive=True)]
    labels = {"flow": _("Flow"), "steps": _("Steps"), "result": _("Result"), "cancel_requested": _("Cancel requested"),
              "request_id": _("Request id")}
    search_example = "state=failed"
    with_history = False
    detail_template = "ui/job.html"
    # the steps and the error have their own boxes on the page, not a row of JSON among the fields
    detail_fields = ["uuid", "action", "flow", "state", "progress", "resource_type", "resource_uuid", "result",
                     "cancel_requested", "request_id", "account_uuid", "created_at", "started_at", "finished_at"]
    views = {"detail": JobDetailView}


class AuditLogPages(ResourcePages):
    viewset = AuditLogViewSet
    menu = (_("Activity"), _("Audit log"))
    order = 910
    columns = ["created_at", "user_name", "method", "path", "action", "result", "status_code"]
    labels = {"user_name": _("User"), "method": _("Method"), "path": _("Path"), "result": _("Result"),
              "status_code": _("HTTP status"), "error_code": _("Error code"), "duration_ms": _("Duration (ms)"),
              "client_ip": _("Client address")}
    search_example = "result=failure"
    search_field = "action"
    with_history = False


def changed_fields(value, row):
    """What a change-log row changed: ``field: before → after`` for an update, the fields for a
    create or a delete."""
    before, after = row.get("before") or {}, row.get("after") or {}
    if row.get("action") == "update":
        return Cell(items=[Cell(f"{name}: {_short(before.get(name))} → {_short(after.get(name))}")
                           for name in sorted(set(before) | set(after))])
    shown = after or before
    return Cell(ngettext("%(count)d field", "%(count)d fields", len(shown)) % {"count": len(shown)},
                title=json.dumps(shown, ensure_ascii=False, sort_keys=True))


def _short(value, limit=40):
    text = "—" if value in (None, "") else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ChangeLogPages(ResourcePages):
    """Every create, update and delete of a resource row, with what changed (the API's
    ``/change-logs/``); a resource's page shows its own."""

    viewset = ChangeLogViewSet
    menu = (_("Activity"), _("Change log"))
    order = 920
    columns = ["created_at", "resource_type", "resource_uuid", "action", "after", "user_name"]
    labels = {"user_name": _("User"), "resource_name": _("Resource name"), "before": _("Before"),
              "after": _("Changes"), "request_id": _("Request id"), "job_uuid": _("Job")}
    cells = {"after": changed_fields}
    row_fields = ["before", "action"]   # changed_fields shows before -> after
    search_example = "action=update"
    default_ordering = "-created_at"   # a log: the newest first
    search_field = "resource_name"
    with_history = False


class TagPages(ResourcePages):
    """Tags on any resource: the account's own (user) and the system's; added and removed on every
    resource's page too (``tagging.TagsOnView``)."""

    viewset = TagViewSet
    basename = "tags"
    menu = (_("Settings"), _("Tags"))
    order = 940
    columns = ["tag", "type", "resource_type", "resource_uuid", "account_uuid", "created_at"]
    fields = ["resource_uuid", "tag", "type"]
    actions = [Action("delete", _("Remove"), destructive=True)]
    labels = {"tag": _("Tag")}
    search_example = "tag~=env%"
    search_field = "tag"
    with_history = False

    @classmethod
    def extra_urls(cls):
        return [path("on/<uuid:uuid>/", TagsOnView.as_view(), name="tags-on"),
                path("on/<uuid:uuid>/remove/<uuid:tag_uuid>/", TagsOnView.as_view(), name="tags-remove")]


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

    @cached_property
    def editable(self):
        """Whether the API's GlobalConfigDetail would take this user's PATCH (its permissions)."""
        return permitted(self.request, GlobalConfigDetail, "partial_update", method="PATCH")

    def row(self, row, error=""):
        return {**row, "shown": plain("value", row["value"]), "default": plain("default_value", row["default_value"]),
                "changed": row["value"] != row["default_value"], "error": error, "editable": self.editable,
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

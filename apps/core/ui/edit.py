"""The generic form and action pages. What they post goes to the API as it came: the API's
serializer validates it (its messages are shown beside the fields), its flow declarations start
the jobs, its audit middleware records the call."""
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from ..api.viewsets import ResourceViewSet
from .apicall import call
from .base import PageView, is_htmx
from .plan import readable
from .widgets import inputs, is_multipart


def go(request, url):
    """Redirect, the way htmx follows it too (a whole page, not a swapped fragment)."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def started_job(answer):
    """The uuid of the job a 202 started (None for any other answer)."""
    job = answer.data.get("job") if isinstance(answer.data, dict) else None
    return job["uuid"] if job else None


def started(request, answer, what):
    """Tell the user what the API did; a 202 names its job, linked."""
    job = answer.data.get("job") if isinstance(answer.data, dict) else None
    if job:
        url = reverse("ui:detail", kwargs={"basename": "jobs", "uuid": job["uuid"]})
        messages.success(request, format_html(_("{what}: job {job} started."), what=what,
                                              job=format_html('<a href="{}">{}</a>', url, job["uuid"][:8])))
    else:
        messages.success(request, _("%(what)s: done.") % {"what": what})


def created_uuid(data):
    if isinstance(data, dict):
        if data.get("uuid"):
            return data["uuid"]
        resource = data.get("resource") or {}
        return resource.get("uuid")
    return None


class FormView(PageView):
    """Create (``<basename>/new/``) and edit (``<basename>/<uuid>/edit/``) through the API's
    create and partial update."""

    def get(self, request, uuid=None):
        current = {}
        if uuid is not None:
            answer = call(request, "GET", self.detail_path(uuid))
            if not answer.ok:
                return self.failed(answer)
            current = answer.data
        return self.form(uuid, current)

    def post(self, request, uuid=None):
        if uuid is None:
            answer = call(request, "POST", self.list_path())
        else:
            answer = call(request, "PATCH", self.detail_path(uuid))
        if answer.ok:
            target = created_uuid(answer.data) or uuid
            started(request, answer, _("Created") if uuid is None else _("Saved"))
            job = started_job(answer)
            if uuid is None and job and self.pages.after_create == "job":
                return go(request, reverse("ui:detail", kwargs={"basename": "jobs", "uuid": job}))
            if target:
                return go(request, reverse("ui:detail", kwargs={"basename": self.basename, "uuid": target}))
            return go(request, reverse("ui:list", kwargs={"basename": self.basename}))
        if answer.status == 404 and uuid is not None:
            return self.failed(answer)
        return self.form(uuid, request.POST, answer, status=200 if is_htmx(request) else 400)

    def form(self, uuid, values, answer=None, status=200):
        pages = self.pages
        serializer_class = pages.serializer_class(for_create=uuid is None)
        serializer = serializer_class(instance=values if uuid is not None else None, context={"request": self.request})
        errors = answer.field_errors if answer is not None else {}
        names = pages.edit_fields if uuid is not None and pages.edit_fields is not None else pages.fields
        fields = inputs(serializer, names, values, errors, pages.labels, self.choices(), pages.show_when, pages.sizes)
        shown = {f.name for f in fields}
        # an error no input shows (a 409, a rule across fields) goes above the form
        general = answer.message if answer is not None and (not errors or not set(errors) & shown) else ""
        context = {
            "title": (_("Edit %(name)s") % {"name": values.get("name") or uuid}) if uuid else
            _("New: %(what)s") % {"what": pages.title()},
            "fields": fields, "error": general, "uuid": uuid and str(uuid),
            "multipart": is_multipart(fields),
            "cancel_url": reverse("ui:detail", kwargs={"basename": self.basename, "uuid": uuid}) if uuid else
            reverse("ui:list", kwargs={"basename": self.basename}),
        }
        template = "ui/_form.html" if is_htmx(self.request) and answer is not None else "ui/form.html"
        return self.page(template, context, status=status)


def plain_delete(pages):
    """Whether DELETE is the cascade delete, whose ``?dry_run=true`` answers the plan."""
    viewset = pages.viewset
    return (getattr(viewset, "destroy", None) is ResourceViewSet.destroy
            and getattr(viewset, "delete_action", None) is None)


class ActionView(PageView):
    """One action on one object. GET: the confirmation (with the delete's cascade plan) or the
    action's form; POST: the API call."""

    def get(self, request, uuid, action):
        action = self.pages.action(action)
        if action is None or action not in self.visible_actions(uuid=uuid):   # no form for what the API would refuse
            return self.not_found()
        answer = call(request, "GET", self.detail_path(uuid))
        if not answer.ok:
            return self.failed(answer)
        return self.confirm(action, [answer.data])

    def post(self, request, uuid, action):
        action = self.pages.action(action)
        if action is None:
            return self.not_found()
        answer = call(request, action.method, action.api_path(self.detail_path(uuid)))
        if answer.ok:
            started(request, answer, action.label)
            if action.name == "delete" and answer.status == 204:
                return go(request, reverse("ui:list", kwargs={"basename": self.basename}))
            if action.name == "delete" and started_job(answer):   # its page may be gone before it loads
                return go(request, reverse("ui:detail", kwargs={"basename": "jobs", "uuid": started_job(answer)}))
            return go(request, reverse("ui:detail", kwargs={"basename": self.basename, "uuid": uuid}))
        if answer.status == 404:
            return self.failed(answer)
        current = call(request, "GET", self.detail_path(uuid))
        objects = [current.data] if current.ok else [{"uuid": str(uuid)}]
        return self.confirm(action, objects, answer, status=400 if answer.status == 400 else 409)

    def confirm(self, action, objects, answer=None, status=200):
        body = self.pages.action_body(action)
        fields = []
        if body is not None:
            serializer = body(context={"request": self.request})
            fields = inputs(serializer, None, self.request.POST if answer else {},
                            answer.field_errors if answer else {}, self.pages.labels, self.choices(),
                            sizes=self.pages.sizes)
        plan = None
        if action.name == "delete" and plain_delete(self.pages) and len(objects) == 1 and answer is None:
            uuid = objects[0]["uuid"]
            plan = readable(call(self.request, "DELETE", self.detail_path(uuid), {"dry_run": "true"}), uuid)
        context = {"title": action.label, "action": action, "objects": objects, "fields": fields, "plan": plan,
                   "error": answer.message if answer else "", "bulk": len(objects) > 1 or not objects}
        return self.page("ui/confirm.html", context, status=status)


class BulkView(PageView):
    """An action on the rows selected in a list (``uuid`` repeated): confirmed first when it
    destroys, then one API call per row, each answer reported."""

    def post(self, request, action):
        action = self.pages.action(action)
        if action is None or not action.bulk:
            return self.not_found()
        uuids = request.POST.getlist("uuid")
        back = reverse("ui:list", kwargs={"basename": self.basename})
        if not uuids:
            messages.warning(request, _("Select at least one row first."))
            return go(request, back)
        if action.destructive and request.POST.get("confirmed") != "yes":
            objects = []
            for uuid in uuids:
                try:
                    answer = call(request, "GET", self.detail_path(uuid))
                except NoReverseMatch:
                    continue
                if answer.ok:
                    objects.append(answer.data)
            return self.page("ui/confirm.html", {"title": action.label, "action": action, "objects": objects,
                                                 "fields": [], "plan": None, "error": "", "bulk": True})
        for uuid in uuids:
            try:
                path = action.api_path(self.detail_path(uuid))
            except NoReverseMatch:   # not a uuid: nothing the API could have
                messages.error(request, f"{action.label} {uuid[:36]}: {_('not found')}")
                continue
            answer = call(request, action.method, path)
            if answer.ok:
                started(request, answer, f"{action.label} {uuid[:8]}")
            else:
                messages.error(request, f"{action.label} {uuid[:8]}: {answer.message}")
        return go(request, back)

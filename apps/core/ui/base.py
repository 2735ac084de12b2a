"""What every console page view shares: its ``ResourcePages`` from the URL, the login
requirement, the API's answers turned into pages (404 as the API says it)."""
import shlex

from django.contrib.auth.views import redirect_to_login
from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from ..tenancy import is_admin, visible
from .apicall import detail_path, list_path, permitted
from .pages import site
from .widgets import MAX_OPTIONS


def split_conditions(text, field="name"):
    """The search box's text as ``q=`` conditions: separated by spaces, a value with spaces in
    quotes (``name~="web %"``); a word without an operator looks for names (``field``) containing it."""
    from ..query import OPERATORS

    words = shlex.split(text or "")
    return [word if any(op in word for op in OPERATORS) else f"{field}~=%{word}%" for word in words]


def is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def is_live(request):
    """A page fetched again by console/live.js because what it shows changed."""
    return request.headers.get("X-Live-Update") == "1"


class PageView(View):
    """A page of one registered resource (``<basename>`` in the URL)."""

    def dispatch(self, request, basename, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.pages = site.get(basename)
        if self.pages is None:
            return self.not_found()
        self.basename = basename
        self.admin = is_admin(request.user)
        self.instances = {}   # objects read to ask the API's object permissions (instance())
        return super().dispatch(request, *args, **kwargs)

    # --- the API ---------------------------------------------------------------------------
    def list_path(self):
        return list_path(self.basename)

    def detail_path(self, uuid):
        return detail_path(self.basename, uuid)

    def visible_actions(self, bulk=False, uuid=None):
        """The page's actions this user may run (the API's permission classes decide; on the
        object ``uuid``, those that judge objects too)."""
        shown = []
        for action in self.pages.actions:
            if bulk and not action.bulk:
                continue
            if action.admin_only and not self.admin:
                continue
            if permitted(self.request, self.pages.viewset, action.drf_action, action.method, self.instance(uuid)):
                shown.append(action)
        return shown

    def instance(self, uuid):
        """None without a uuid, else a callable giving the object as this user sees it (read once)."""
        if uuid is None:
            return None
        def found():
            if uuid not in self.instances:
                self.instances[uuid] = visible(self.pages.model().objects.all(), self.request.user).filter(
                    uuid=uuid).first()
            return self.instances[uuid]

        return found

    def choices(self):
        """Options of the form fields the page fills from other pages' rows (``ResourcePages.options``,
        as this user sees them): a field the API takes as a plain uuid is picked by name."""
        found = {}
        for name, basename in self.pages.options.items():
            other = site.get(basename)
            if other is not None:
                rows = visible(other.model().objects.all(), self.request.user)[:MAX_OPTIONS]
                found[name] = [(str(row.uuid), row.name) for row in rows]
        return found

    def may(self, drf_action, method, uuid=None):
        return permitted(self.request, self.pages.viewset, drf_action, method, self.instance(uuid))

    # --- answers ---------------------------------------------------------------------------
    def page(self, template, context, status=200):
        context = {"pages": self.pages, "basename": self.basename, "is_admin": self.admin,
                   "list_url": reverse("ui:list", kwargs={"basename": self.basename}),
                   "live_kind": self.pages.live_kind(),
                   "rows_url": reverse("ui:rows", kwargs={"basename": self.basename}), **context}
        return render(self.request, template, context, status=status)

    def not_found(self, message=None):
        return render(self.request, "ui/error.html", {
            "status": 404, "message": message or _("Not found: it does not exist, or your account may not see it.")},
            status=404)

    def failed(self, answer):
        """A page for an API answer that is an error (its status and message)."""
        if answer.status == 404:
            return self.not_found()
        return render(self.request, "ui/error.html", {"status": answer.status, "message": answer.message,
                                                      "code": answer.code}, status=answer.status)


def with_query(request, **changes):
    """The page's own URL with some query parameters changed (None removes one)."""
    query = request.GET.copy() if request.GET else QueryDict(mutable=True)
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = value
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path

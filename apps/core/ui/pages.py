"""``ResourcePages``: a resource's console pages, declared the way its API viewset is.

    class InstanceOfferingPages(ResourcePages):          # apps/compute/ui.py
        viewset = InstanceOfferingViewSet                # its queryset, serializer, flows, tenancy
        menu = (_("Compute"), _("Instance offerings"))
        columns = ["name", "cpu_num", "memory_size", "state", "created_at"]
        fields = ["name", "description", "cpu_num", "memory_size"]   # the create/edit form
        actions = ["enable", "disable", "delete"]                      # the API's actions by URL name

Declaring the class registers it (``site``); the console finds ``ui.py`` of every app. Every page
calls the API in-process (``apicall``): nothing a page shows or changes goes around it.
"""
from django.utils.translation import gettext_lazy as _

from .apicall import basename_of

ACTION_LABELS = {
    "enable": _("Enable"), "disable": _("Disable"), "delete": _("Delete"), "start": _("Start"),
    "stop": _("Stop"), "reboot": _("Reboot"), "reconnect": _("Reconnect"), "attach": _("Attach"),
    "detach": _("Detach"), "expunge": _("Expunge"), "recover": _("Recover"), "cancel": _("Cancel"),
    "pause": _("Pause"), "resume": _("Resume"), "power-off": _("Power off"), "maintain": _("Maintain"),
}
# asked "are you sure?" first, unless the page says otherwise
DESTRUCTIVE = {"delete", "expunge", "stop", "power-off", "reboot", "detach", "cancel"}


class Action:
    """An API action a page offers: ``POST <detail>/<name>/`` (``delete``: ``DELETE <detail>``).

    ``body``: the serializer of what the action takes (a form is shown first; a flow action's
    ``FlowAction.body`` is found without it). ``destructive``: confirmed first (with the cascade
    plan for a plain delete). ``bulk``: offered for the rows selected in the list. ``admin_only``:
    hidden from normal accounts even where the API's permission classes alone would not say so."""

    def __init__(self, name, label=None, *, body=None, destructive=None, bulk=None, admin_only=False):
        self.name = name
        self.label = label or ACTION_LABELS.get(name) or name.replace("-", " ").capitalize()
        self.body = body
        self.destructive = name in DESTRUCTIVE if destructive is None else destructive
        self.bulk = body is None if bulk is None else bulk
        self.admin_only = admin_only

    @property
    def method(self):
        return "DELETE" if self.name == "delete" else "POST"

    @property
    def drf_action(self):
        """The viewset action the API runs (what its permission classes are asked about)."""
        return "destroy" if self.name == "delete" else self.name.replace("-", "_")

    def api_path(self, detail_path):
        return detail_path if self.name == "delete" else f"{detail_path}{self.name}/"

    def __repr__(self):
        return f"Action({self.name!r})"


class Related:
    """Rows of another page that point at this object: that page's list filtered by
    ``q=<field>=<this uuid>`` (``L3 networks`` of an L2: ``Related("l3-networks", "l2_network_uuid")``)."""

    def __init__(self, basename, field, label=None, limit=20):
        self.basename, self.field, self.label, self.limit = basename, field, label, limit


class Choice:
    """A choice the form shows that the API does not take (it steers which inputs are shown, e.g. a
    KVM host's "SSH login: password or private key"), listed in ``fields`` among the API's names."""

    def __init__(self, name, label, options, default=None):
        self.name, self.label, self.options = name, label, list(options)
        self.default = default if default is not None else self.options[0][0]


class Registry:
    """Every declared ``ResourcePages`` (the console's navigation and URLs), by API basename once
    the URLconf is loaded (pages may be declared while it is being imported)."""

    def __init__(self):
        self.declared = []
        self._by_basename = None

    def add(self, pages_class):
        self.declared.append(pages_class)
        self._by_basename = None

    def by_basename(self):
        if self._by_basename is None:
            self._by_basename = {p.api_basename(): p for p in self.declared}
        return self._by_basename

    def get(self, basename):
        return self.by_basename().get(basename)

    def for_model(self, model):
        return next((p for p in self.declared if p.model() is model), None)

    def menu(self):
        """``[(group, [pages, ...]), ...]``: groups in the order of their first page."""
        groups = {}
        for pages in sorted(self.declared, key=lambda p: p.order):
            if pages.menu:
                groups.setdefault(str(pages.menu[0]), (pages.menu[0], []))[1].append(pages)
        return list(groups.values())


site = Registry()


class ResourcePages:
    viewset = None
    basename = None          # the API router's; found from the URLconf when not given
    menu = None              # (group, label): where the sidebar lists the pages
    order = 100              # the sidebar's order (groups take their first page's)
    columns = ["name", "state", "created_at"]
    fields = None            # create/edit form fields (None: every writable field of the serializer)
    edit_fields = None       # the edit form's, when not the same (None: ``fields``)
    detail_fields = None     # None: every field the API shows
    actions = []             # names or Action(...)
    related = []             # Related(...)
    cells = {}               # field -> function(value, row) -> cells.Cell: how the page shows it
    links = {}               # plain uuid field -> the basename of the page it names a row of (shown by name)
    row_fields = []          # what its cells read of a row besides the columns (a list asks the API for no more)
    labels = {}              # field -> label, over core's common ones
    options = {}             # form field -> API basename whose rows it picks from (a list of uuids)
    show_when = {}           # form field -> {other field: [values]}: shown (and sent) only then
    sizes = []               # form fields holding bytes: typed as a number and a unit (MiB, GiB, TiB)
    after_create = "detail"  # where a create lands: its object's page, or "job" (the job it started)
    list_limit = 50
    default_ordering = ""    # the list's ``ordering=`` until a column is clicked ("": the API's)
    search_example = "name~=web%"
    search_field = "name"    # what a plain word in the search box looks in
    with_history = True      # the detail page shows the object's jobs and audit rows
    list_template = "ui/list.html"
    detail_template = "ui/detail.html"
    views = {}               # kind ("list", "rows", "detail", "form", "action", "bulk") -> a view class of its own

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("viewset") is not None:
            cls.actions = [a if isinstance(a, Action) else Action(a) for a in cls.actions]
            site.add(cls)

    @classmethod
    def api_basename(cls):
        if cls.basename is None:
            cls.basename = basename_of(cls.viewset)
        return cls.basename

    @classmethod
    def model(cls):
        return cls.viewset.queryset.model

    @classmethod
    def live_kind(cls):
        """What ``/ws/events/`` announces about this page's rows (``"resource"`` changes, ``"job"``
        progress), so that lists and detail pages follow them; None: nothing. A model that is not a
        Resource is followed when an app registered it (``apps.core.events.followable``)."""
        from ..events.followable import followable_of
        from ..models import Job, Resource

        model = cls.model()
        if model is Job:
            return "job"
        if issubclass(model, Resource):
            return "resource"
        followable = followable_of(model)
        return "resource" if followable is not None and followable.rows_change else None

    @classmethod
    def new_rows_type(cls):
        """The type whose new rows ``/ws/events/`` announces (``new_rows``) when this page's model
        is registered so, for a list showing its first page to follow; None otherwise."""
        from ..events.followable import followable_of

        followable = followable_of(cls.model())
        return followable.resource_type if followable is not None and followable.new_rows else None

    @classmethod
    def title(cls):
        return cls.menu[1] if cls.menu else cls.model()._meta.verbose_name_plural

    @classmethod
    def serializer_class(cls, for_create=False):
        if for_create and getattr(cls.viewset, "create_serializer_class", None) is not None:
            return cls.viewset.create_serializer_class
        return cls.viewset.serializer_class

    @classmethod
    def can_create(cls):
        return hasattr(cls.viewset, "create")

    @classmethod
    def can_edit(cls):
        return hasattr(cls.viewset, "partial_update")

    @classmethod
    def taggable(cls):
        """Whether the detail page shows the object's tags (the API tags any ``Resource``)."""
        from ..models import Resource

        return issubclass(cls.model(), Resource)

    @classmethod
    def action(cls, name):
        return next((a for a in cls.actions if a.name == name), None)

    @classmethod
    def action_body(cls, action):
        if action.body is not None:
            return action.body
        flow_action = getattr(cls.viewset, "flow_actions", {}).get(action.name)
        return getattr(flow_action, "body", None)

    @classmethod
    def extra_urls(cls):
        """URL patterns of pages beyond the generic ones, under ``<basename>/`` (a page with
        some declares its ``basename``: they are made while the URLconf is imported)."""
        return []

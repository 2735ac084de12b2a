"""How an API value is shown in a table cell or a detail row: bytes in KiB/MiB/GiB, states as
coloured badges, a related row's uuid as its name linking to its page."""
import json
import uuid as uuid_lib
from dataclasses import dataclass, field
from html import escape as escape_text

from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..api.fields import UuidRelatedField
from ..models import resource_model
from ..tenancy import visible
from .labels import state_word

# a job's states are lower case (its "running" is under way, a VM's "Running" is good)
GOOD = {"Enabled", "Running", "Connected", "Ready", "Succeeded", "success", "succeeded"}
BAD = {"Failed", "Disconnected", "Error", "failure", "Deleted", "Destroyed", "failed", "rollback_failed"}
BUSY = {"Starting", "Stopping", "Connecting", "Downloading", "Pending", "Creating", "Migrating", "Rebooting",
        "pending", "running", "rolling_back"}
PLACEHOLDER = uuid_lib.UUID(int=0)   # stands for a row's uuid in a reversed URL (Formatter.detail_url)


def esc(value):
    """``conditional_escape(value)`` as a plain string: markup (``__html__``) as it is, anything
    else escaped the same way (Django's ``escape`` is the standard library's). A list page's cells
    and rows escape a thousand values or more: ``format_html`` for each was a fifth of its time."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape_text(str(value))


@dataclass
class Cell:
    text: str = ""
    href: str = ""
    title: str = ""
    badge: str = ""          # a Tabler colour: green, red, yellow, secondary
    code: bool = False
    items: list = field(default_factory=list)   # several cells (a list value)
    column: str = ""         # the API field it shows (a list row's cells: live.js finds a state by it)

    def __html__(self):
        """The cell's markup (``{{ cell }}`` in a template; ``ui/_cell.html`` is the same). Built
        here rather than by including a template per cell: a page of 50 rows has 350 or more
        cells, and their includes were most of the list page's rendering time."""
        if self.items:
            parts = []
            last = len(self.items) - 1
            for index, item in enumerate(self.items):
                parts.append(item.__html__())
                if index < last and not item.badge:
                    parts.append(", ")
            return mark_safe("".join(parts))   # noqa: S308 - every part is escaped markup or ", "
        title = f' title="{esc(self.title)}"' if self.title else ""
        if self.badge:
            markup = f'<span class="badge bg-{esc(self.badge)}-lt"{title}>{esc(self.text)}</span>'
        elif self.href:
            markup = f'<a href="{esc(self.href)}"{title}>{esc(self.text)}</a>'
        elif self.code:
            markup = f'<code class="text-wrap">{esc(self.text)}</code>'
        else:
            markup = f"<span{title}>{esc(self.text)}</span>"
        return mark_safe(markup)   # noqa: S308 - each value escaped by esc

    def __str__(self):
        return mark_safe(self.__html__())


class ListRow:
    """A list page's row, ``<tr>`` and its cells (``{{ row }}``): built here rather than by a
    template included per row, as a cell is. ``select``: a check box for the bulk actions;
    ``live_kind``/``rows_url``: what console/live.js needs to fetch the row again when it changes."""

    def __init__(self, row, cells, select=False, live_kind="", rows_url=""):
        self.row, self.cells = row, cells
        self.select, self.live_kind, self.rows_url = select, live_kind, rows_url

    def __html__(self):
        uuid = esc(self.row.get("uuid", ""))
        live = (f' data-live-uuid="{uuid}" data-live-kind="{esc(self.live_kind)}" '
                f'data-live-src="{esc(self.rows_url)}"') if self.live_kind else ""
        parts = [f'<tr id="row-{uuid}" data-uuid="{uuid}"{live}>\n']
        if self.select:
            name = esc(self.row["name"]) if self.row.get("name") else uuid
            parts.append(f'  <td><input class="form-check-input m-0" type="checkbox" name="uuid" value="{uuid}" '
                         f'aria-label="{esc(_("Select"))} {name}"></td>\n')
        parts.append("  ")
        for cell in self.cells:
            parts.append(f'<td data-field="{esc(cell.column)}">{cell.__html__()}</td>')
        parts.append("\n</tr>")
        return mark_safe("".join(parts))   # noqa: S308 - every value escaped by esc

    def __str__(self):
        return mark_safe(self.__html__())


def human_bytes(value):
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" or size == int(size) else f"{size:.1f} {unit}"
        size /= 1024


def is_bytes(name):
    return name.endswith("_size") or name.endswith("capacity") or name == "size"


def state_colour(value):
    if value in GOOD:
        return "green"
    if value in BAD:
        return "red"
    if value in BUSY:
        return "yellow"
    return "secondary"


_relations = {}


def relations_of(serializer_class):
    """``{field: model}`` of the serializer's fields that show a related row's uuid: a
    ``UuidRelatedField``, or a read-only field whose source is a foreign key's uuid
    (``UUIDField(source="host.uuid")``), or a read-only ``<foreign key>_uuid`` (a method field)."""
    found = _relations.get(serializer_class)
    if found is None:
        found = {}
        model = getattr(getattr(serializer_class, "Meta", None), "model", None)
        for name, fld in serializer_class(context={}).fields.items():
            child = getattr(fld, "child_relation", fld)
            if isinstance(child, UuidRelatedField) and child.queryset is not None:
                found[name] = child.queryset.model
            elif model is not None and fld.read_only and _foreign_uuid(model, fld.source):
                found[name] = _foreign_uuid(model, fld.source)
            elif model is not None and fld.read_only and name.endswith("_uuid") and _foreign_uuid(
                    model, f"{name[:-len('_uuid')]}.uuid"):   # a method giving ``<foreign key>.uuid``
                found[name] = _foreign_uuid(model, f"{name[:-len('_uuid')]}.uuid")
        _relations[serializer_class] = found
    return found


def _foreign_uuid(model, source):
    """The model a ``<foreign key>.uuid`` source points at (None for any other source)."""
    parts = (source or "").split(".")
    if len(parts) != 2 or parts[1] != "uuid":
        return None
    try:
        fld = model._meta.get_field(parts[0])
    except FieldDoesNotExist:   # a property or a method
        return None
    return fld.related_model if fld.many_to_one else None


def related_names(rows, relations, user):
    """``{uuid string: name}`` of the related rows ``rows`` point at that ``user`` may see (one
    query per related model; tenancy is core's ``visible``)."""
    wanted = {}
    for row in rows:
        for name, model in relations.items():
            value = row.get(name)
            for one in value if isinstance(value, list) else [value]:
                if one:
                    wanted.setdefault(model, set()).add(str(one))
    names = {}
    for model, uuids in wanted.items():
        if not any(f.name == "name" for f in model._meta.get_fields()):
            continue
        for uuid, name in visible(model.objects.filter(uuid__in=uuids), user).values_list("uuid", "name"):
            names[str(uuid)] = name
    return names


def resource_names(rows, user):
    """``{uuid string: name}`` of the resources rows name by ``resource_type`` and
    ``resource_uuid`` that ``user`` may see (one query per type): a row gone or not this user's is
    left out, and shown unlinked."""
    wanted = {}
    for row in rows:
        model = resource_model(row.get("resource_type") or "")
        if model is not None and row.get("resource_uuid"):
            wanted.setdefault(model, set()).add(str(row["resource_uuid"]))
    names = {}
    for model, uuids in wanted.items():
        for uuid, name in visible(model.objects.filter(uuid__in=uuids), user).values_list("uuid", "name"):
            names[str(uuid)] = name
    return names


class Formatter:
    """Cells for the rows of one page (``registry``: where related pages are found; ``columns``:
    the fields shown, when not all of them: only their related rows' names are read;
    ``self_links``: a row's name links to its own page, as in a list)."""

    def __init__(self, pages, rows, user, registry, columns=None, self_links=True):
        self.pages, self.registry, self.self_links = pages, registry, self_links
        self.relations = {**relations_of(pages.viewset.serializer_class), **{
            name: registry.get(basename).model() for name, basename in pages.links.items()
            if registry.get(basename) is not None}}
        wanted = self.relations if columns is None else {
            name: model for name, model in self.relations.items() if name in columns}
        self.names = related_names(rows, wanted, user)
        # a row about a resource of any type (jobs, audit and change logs, tags): its name, linked
        self.resources = resource_names(rows, user) if columns is None or "resource_uuid" in columns else {}
        self.detail_urls = {}   # basename -> its detail URL with a placeholder for the uuid

    def detail_url(self, basename, uuid):
        """``reverse("ui:detail", ...)`` for ``basename``'s row ``uuid``, the URL reversed once per
        page and basename (a page of 50 rows links each row and its related rows: reversing each
        was a tenth of the list page's time)."""
        pattern = self.detail_urls.get(basename)
        if pattern is None:
            pattern = reverse("ui:detail", kwargs={"basename": basename, "uuid": PLACEHOLDER})
            self.detail_urls[basename] = pattern
        return pattern.replace(str(PLACEHOLDER), str(uuid), 1)

    def link_for(self, model, uuid):
        target = self.registry.for_model(model)
        if target is None:
            return ""
        return self.detail_url(target.api_basename(), uuid)

    def cell(self, name, value, row=None):
        shown = self.pages.cells.get(name)
        if shown is not None:   # the page's own way of showing this field
            return shown(value, row or {})
        if name in self.relations:
            model = self.relations[name]
            if isinstance(value, list):
                return Cell(items=[self._related(model, v) for v in value])
            return self._related(model, value) if value else Cell("—")
        if name == "resource_uuid" and value and row is not None and row.get("resource_type"):
            return self._resource(row["resource_type"], str(value))
        if name == "name" and self.self_links and row is not None and row.get("uuid"):
            return Cell(str(value) or "—", href=self.detail_url(self.pages.api_basename(), row["uuid"]))
        return plain(name, value)

    def _resource(self, resource_type, uuid):
        model = resource_model(resource_type)
        href = self.link_for(model, uuid) if model is not None and uuid in self.resources else ""
        return Cell(self.resources.get(uuid) or uuid[:8], href=href, title=f"{resource_type} {uuid}")

    def _related(self, model, uuid):
        uuid = str(uuid)
        return Cell(self.names.get(uuid, uuid[:8]), href=self.link_for(model, uuid), title=uuid)


def plain(name, value):
    if value is None or value == "":
        return Cell("—")
    if isinstance(value, bool):
        return Cell(_("Yes") if value else _("No"))
    if name in ("state", "status", "result") and isinstance(value, str):   # a job's result is a dict
        return Cell(state_word(value), badge=state_colour(value))
    if isinstance(value, (int, float)) and is_bytes(name):
        return Cell(human_bytes(value), title=f"{value} B")
    if name == "progress" and isinstance(value, (int, float)):
        return Cell(f"{value}%")
    if name.endswith("_at") and isinstance(value, str):
        return Cell(value[:19].replace("T", " "), title=value)
    if name == "tags" and isinstance(value, list):
        return Cell(items=[Cell(str(tag), badge="azure") for tag in value])
    if isinstance(value, list):
        return Cell(items=[plain("", one) for one in value]) if value else Cell("—")
    if isinstance(value, dict):
        return Cell(json.dumps(value, ensure_ascii=False, sort_keys=True), code=True)
    return Cell(str(value))

"""The cascade plan a delete's dry run answers (``DELETE …?dry_run=true``), as a page shows it:
what else goes and what blocks, grouped by type, each row named and linked to its page."""
from dataclasses import dataclass, field

from django.urls import reverse

from ..models import resource_model
from .pages import site


SHOWN_PER_TYPE = 10   # rows listed per type; the rest are counted


@dataclass
class Row:
    name: str
    uuid: str
    url: str = ""
    reasons: list = field(default_factory=list)   # why it blocks (one per path to it)


@dataclass
class Group:
    resource_type: str
    label: str
    rows: list = field(default_factory=list)

    @property
    def shown(self):
        return self.rows[:SHOWN_PER_TYPE]

    @property
    def more(self):
        return max(len(self.rows) - SHOWN_PER_TYPE, 0)


@dataclass
class Plan:
    deletes: list          # [Group], the object itself left out
    blockers: list         # [Group]
    can_delete: bool
    error: str = ""


def type_label(resource_type):
    """What the console calls a resource type: its page's title, else the model's plural name."""
    model = resource_model(resource_type)
    if model is None:
        return resource_type
    pages = site.for_model(model)
    return str(pages.title()) if pages is not None else str(model._meta.verbose_name_plural).capitalize()


def _url(resource_type, uuid):
    model = resource_model(resource_type)
    pages = site.for_model(model) if model is not None else None
    return reverse("ui:detail", kwargs={"basename": pages.api_basename(), "uuid": uuid}) if pages else ""


def _grouped(refs):
    """Refs grouped by type in the order met; a row reached twice (a volume blocking through its
    host and its primary storage) is listed once, with both reasons."""
    groups, rows = {}, {}
    for ref in refs:
        kind, uuid = ref.get("resource_type", ""), str(ref.get("uuid", ""))
        row = rows.get(uuid)
        if row is None:
            group = groups.get(kind)
            if group is None:
                group = groups[kind] = Group(kind, type_label(kind))
            row = rows[uuid] = Row(ref.get("name") or uuid, uuid, _url(kind, uuid))
            group.rows.append(row)
        if ref.get("reason") and ref["reason"] not in row.reasons:
            row.reasons.append(ref["reason"])
    return list(groups.values())


def readable(answer, uuid):
    """The dry run's ``answer`` (an ``apicall.Answer``) for deleting the object ``uuid``."""
    if not answer.ok:
        return Plan([], [], False, error=answer.message)
    data = answer.data
    others = [ref for ref in data.get("deletes", []) if str(ref.get("uuid")) != str(uuid)]
    blockers = data.get("blockers", [])
    return Plan(_grouped(others), _grouped(blockers), data.get("can_delete", not blockers))

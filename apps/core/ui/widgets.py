"""A serializer's writable fields as form inputs. The form posts what the API takes, named as the
API names it; the serializer that validates it is the API's, so a page has no rules of its own."""
import json
from dataclasses import dataclass, field

from rest_framework import serializers

from ..api.fields import UuidRelatedField
from ..tenancy import visible
from .labels import field_label
from .pages import Choice

MAX_OPTIONS = 500
# a size in bytes is typed as a number of one of these (the API takes bytes)
SIZE_UNITS = [("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40)]
DEFAULT_SIZE_UNIT = "GiB"


@dataclass
class Input:
    name: str
    label: str
    kind: str                    # text, textarea, password, number, checkbox, select, multiselect, list, json,
                                 # file, size (bytes, typed in MiB/GiB/TiB), radio (a page's own Choice: not a
                                 # field of the API)
    value: object = ""
    required: bool = False
    help: str = ""
    options: list = field(default_factory=list)   # [(value, label)]
    minimum: object = None
    maximum: object = None
    errors: list = field(default_factory=list)
    show_when: dict = None       # {other field: [values]}: the browser shows (and sends) it only then

    @property
    def show_when_json(self):
        return json.dumps(self.show_when) if self.show_when else ""

    @property
    def size(self):
        """A size's (number, unit) as typed: the largest unit that divides the bytes evenly (bytes
        that no unit divides, or what is not a number, shown as they are, in bytes)."""
        try:
            value = int(self.value)
        except (TypeError, ValueError):
            return self.value, DEFAULT_SIZE_UNIT if self.value in ("", None) else "B"
        for unit, factor in reversed(SIZE_UNITS):
            if value and value % factor == 0:
                return value // factor, unit
        return (value, "B") if value else ("", DEFAULT_SIZE_UNIT)

    @property
    def units(self):
        number, unit = self.size
        units = [("B", 1)] if unit == "B" else []
        return [(name, factor, name == unit) for name, factor in units + SIZE_UNITS]

    @property
    def selected(self):
        values = self.value if isinstance(self.value, list) else [self.value]
        return {str(v) for v in values if v not in (None, "")}


def _options(fld):
    """The rows a related field accepts (the API's own queryset for it, as this user sees it: a
    normal account is not shown the names of other accounts' rows)."""
    request = fld.context.get("request")
    rows = fld.get_queryset()
    if request is not None:
        rows = visible(rows, request.user)
    rows = rows[:MAX_OPTIONS]
    return [(str(row.uuid), getattr(row, "name", str(row.uuid))) for row in rows]


def kind_of(fld):
    if isinstance(fld, serializers.ManyRelatedField):
        return "multiselect"
    if isinstance(fld, UuidRelatedField):
        return "select"
    if isinstance(fld, serializers.BooleanField):
        return "checkbox"
    if isinstance(fld, serializers.MultipleChoiceField):
        return "multiselect"
    if isinstance(fld, serializers.ChoiceField):
        return "select"
    if isinstance(fld, (serializers.IntegerField, serializers.FloatField, serializers.DecimalField)):
        return "number"
    if isinstance(fld, serializers.ListField):
        return "list"
    if isinstance(fld, (serializers.JSONField, serializers.DictField)):
        return "json"
    if isinstance(fld, serializers.FileField):
        return "file"
    if fld.style.get("input_type") == "password":
        return "password"
    if fld.style.get("base_template") == "textarea.html" or fld.field_name == "description":
        return "textarea"
    return "text"


def inputs(serializer, names, values=None, errors=None, labels=None, choices=None, show_when=None, sizes=()):
    """The form inputs of ``serializer``'s writable fields (``names``: which, in order; None:
    all; a ``Choice`` among them is the page's own), filled with ``values`` (what was posted, or
    the object as the API shows it). ``choices``: ``{field: [(uuid, name)]}`` for fields the
    serializer takes as plain uuids. ``show_when``: ``{field: {other field: [values]}}``. ``sizes``:
    the number fields that hold bytes, typed as a number and a unit."""
    values, errors, choices, show_when = values or {}, errors or {}, choices or {}, show_when or {}
    fields = serializer.fields
    wanted = names if names is not None else list(fields)
    result = []
    for name in wanted:
        if isinstance(name, Choice):
            result.append(_choice(name, values, show_when))
            continue
        fld = fields.get(name)
        if fld is None or fld.read_only:
            continue
        kind = kind_of(fld)
        one = Input(name=name, label=str(field_label(name, labels, fld)), kind=kind,
                    required=fld.required, help=str(fld.help_text or ""), errors=list(errors.get(name, [])))
        if name in choices:   # a plain list of uuids the page fills from another page's rows
            one.kind = kind = "multiselect" if kind == "list" else "select"
            one.options = choices[name]
        elif kind == "select" and isinstance(fld, UuidRelatedField):
            one.options = _options(fld)
        elif kind == "multiselect" and isinstance(fld, serializers.ManyRelatedField):
            one.options = _options(fld.child_relation)
        elif kind in ("select", "multiselect"):
            one.options = [(str(k), str(v)) for k, v in fld.choices.items()]
        if kind == "number":
            one.minimum, one.maximum = getattr(fld, "min_value", None), getattr(fld, "max_value", None)
            if name in sizes:   # the unit beside it says what the number is (the API's help: "bytes")
                one.kind = kind = "size"
                one.help = ""
        one.value = _value(fld, kind, name, values)
        one.show_when = show_when.get(name)
        result.append(one)
    return _steering_only(result)


def _choice(choice, values, show_when):
    value = values.get(choice.name) if hasattr(values, "get") else None
    return Input(name=choice.name, label=str(choice.label), kind="radio", value=value or choice.default,
                 options=[(key, str(label)) for key, label in choice.options], show_when=show_when.get(choice.name))


def _steering_only(result):
    """A page's own choice is kept only while some input shown depends on it (an edit form
    without the fields it steers has no use for it)."""
    steered = {other for one in result for other in (one.show_when or {})}
    return [one for one in result if one.kind != "radio" or one.name in steered]


def _value(fld, kind, name, values):
    if hasattr(values, "getlist"):   # a posted form: shown again as it was typed
        if kind in ("multiselect", "list"):
            return values.getlist(name)
        if kind == "checkbox":
            return values.get(name) in ("true", "on", "1")
        return values.get(name, "")
    if name in values:
        value = values[name]
    elif fld.default is not serializers.empty and not callable(fld.default):
        value = fld.default
    else:
        value = [] if kind in ("multiselect", "list") else ""
    if kind == "json" and value != "":
        return json.dumps(value, ensure_ascii=False)
    return value


def is_multipart(inputs_list):
    return any(one.kind == "file" for one in inputs_list)

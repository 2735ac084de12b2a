"""The query DSL every list endpoint speaks (ZStack-compatible, ARCHITECTURE §3).

    ?q=state=Enabled&q=cluster.zone.name~=z%&ordering=-created_at&limit=50&offset=0&fields=uuid,name

A condition is ``FIELD OP VALUE``; FIELD is a declared field of the model's inner
``Query`` class, or a dotted path through its declared ``relations`` to a declared
field of the related model. Nothing undeclared is queryable (secrets never are).

Operators: ``=`` ``!=`` ``>`` ``>=`` ``<`` ``<=`` ``?=`` (in, comma list) ``!?=``
(not in) ``~=`` (SQL LIKE with ``%`` and ``_``, ``\\`` escapes them; text fields
only) ``!~=`` (not like); ``=null`` and ``!=null`` test for a missing value.
``tag`` matches user/system tags on the row.

A condition through a to-many relation (``clusters.name=c1`` on zones) means "has
a related row matching", and its negation "has no related row matching". It is
applied as a semi-join (``pk IN (subquery)``), so rows are never duplicated and no
``DISTINCT`` is needed. Each condition is matched on its own. See docs/api-query.md.
"""
import math
import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Lookup
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import autodiscover_modules

from .errors import InvalidArgument

OPERATORS = ("!?=", "!~=", "?=", "~=", ">=", "<=", "!=", "=", ">", "<")
_CONDITION = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_.]*)(?P<op>" + "|".join(re.escape(o) for o in OPERATORS) + r")(?P<value>.*)$",
    re.S,
)
_RANGE_LOOKUPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
# LIKE compares text: on anything else (dates, numbers, uuids stored as 32 hex
# digits) its answer would depend on the database's storage format.
_LIKE_FIELDS = (models.CharField, models.TextField, models.GenericIPAddressField)


@models.Field.register_lookup
class Like(Lookup):
    """``field LIKE pattern``: ``%`` any run, ``_`` one character, ``\\`` escapes
    either (as in SQL). The pattern is passed as is, never converted to the
    field's type."""

    lookup_name = "like"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        sql = f"{lhs} LIKE {rhs}"
        if connection.vendor == "sqlite":  # MySQL/MariaDB/PostgreSQL escape with \ by default
            sql += " ESCAPE '\\'"
        return sql, list(lhs_params) + list(rhs_params)


# Per model, the API fields only admin accounts may filter or order on: the fields its serializers
# show to admins only (``Meta.admin_only_fields``, registered by apps.core.api.serializers). A
# normal account that could filter on one would learn its value one guess at a time.
ADMIN_ONLY = {}
_serializers_loaded = False


def hide_from_tenants(model, names):
    """Let only admin accounts query ``names`` of ``model``."""
    ADMIN_ONLY[model] = ADMIN_ONLY.get(model, frozenset()) | frozenset(names)


def admin_only(model):
    """The API fields of ``model`` for admin accounts only. The apps' serializer modules declare
    them: they are imported first if nothing has yet (a websocket may come before any HTTP request)."""
    global _serializers_loaded
    if not _serializers_loaded:
        autodiscover_modules("serializers")
        _serializers_loaded = True
    return ADMIN_ONLY.get(model, frozenset())


def query_meta(model):
    meta = getattr(model, "Query", None)
    if meta is None:
        raise InvalidArgument(f"{model.__name__} is not queryable", code="INVALID_QUERY_FIELD")
    return meta


def _aliases(model):
    return getattr(query_meta(model), "aliases", {})


class Resolved:
    def __init__(self, orm_path, field, multi_valued):
        self.orm_path = orm_path
        self.field = field
        self.multi_valued = multi_valued


def resolve(model, dotted, user=None):
    """Map an API field path (``cluster.zone.name``) to its ORM path and model field.

    ``multi_valued`` is true when the path crosses a to-many relation. With a ``user`` that is
    not an admin, an admin-only field (``admin_only``) at the end of the path is a 400."""
    parts = dotted.split(".")
    current = model
    orm_parts = []
    multi = False
    for rel in parts[:-1]:
        meta = query_meta(current)
        if rel not in getattr(meta, "relations", []):
            raise InvalidArgument(
                f"unknown relation '{rel}' in '{dotted}'",
                code="INVALID_QUERY_FIELD",
                details={"field": dotted, "relations": sorted(getattr(meta, "relations", []))},
            )
        orm_rel = _aliases(current).get(rel, rel)
        django_field = current._meta.get_field(orm_rel)
        multi = multi or django_field.many_to_many or django_field.one_to_many
        orm_parts.append(orm_rel)
        current = django_field.related_model
    last = parts[-1]
    meta = query_meta(current)
    if last not in meta.fields:
        raise InvalidArgument(
            f"unknown field '{dotted}'",
            code="INVALID_QUERY_FIELD",
            details={"field": dotted, "queryable": sorted(meta.fields)},
        )
    if user is not None and last in admin_only(current) and not getattr(user, "is_admin", False):
        raise InvalidArgument(
            f"'{dotted}' can be queried by admin accounts only",
            code="INVALID_QUERY_FIELD",
            details={"field": dotted, "queryable": sorted(set(meta.fields) - admin_only(current))},
        )
    orm_last = _aliases(current).get(last, last)
    field, alias_multi = _field_at(current, orm_last)
    return Resolved("__".join(orm_parts + [orm_last]), field, multi or alias_multi)


def _field_at(model, orm_path):
    current = model
    field = None
    multi = False
    for part in orm_path.split("__"):
        field = current._meta.get_field(part)
        if field.is_relation:
            multi = multi or field.many_to_many or field.one_to_many
            current = field.related_model
    if field.is_relation:  # e.g. alias "zone" -> the related pk
        field = field.related_model._meta.pk
    return field, multi


def coerce(field, raw, dotted):
    """Turn a query-string value into the field's Python type, or 400 naming it."""
    try:
        if isinstance(field, models.DateTimeField):
            value = parse_datetime(raw)
            if value is None:
                raise ValidationError("not an ISO 8601 date-time")
            if timezone.is_naive(value):  # no offset: the server's time zone (settings.TIME_ZONE)
                value = timezone.make_aware(value)
            return value
        if isinstance(field, models.BooleanField):
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValidationError("not a boolean")
            return lowered in ("true", "1")
        value = field.to_python(raw)
        field.get_prep_value(value)  # what the database adapter will do: fail here, not in a 500
        if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
            raise ValidationError("out of range")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("not a finite number")
        return value
    except (ValidationError, ValueError, TypeError, OverflowError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        raise InvalidArgument(
            f"bad value '{raw}' for '{dotted}': {message}",
            code="INVALID_QUERY_VALUE",
            details={"field": dotted, "value": raw},
        ) from None


def parse_condition(text):
    """``"name~=web%"`` -> ``("name", "~=", "web%")``; 400 when it is not FIELD OP VALUE."""
    match = _CONDITION.match(text)
    if not match:
        raise InvalidArgument(
            f"bad query condition '{text}': expected FIELD OP VALUE with OP one of {' '.join(OPERATORS)}",
            code="INVALID_QUERY",
            details={"q": text, "operators": list(OPERATORS)},
        )
    return match.group("field"), match.group("op"), match.group("value")


def _in_list(raw, name, op):
    items = [item for item in raw.split(",") if item != ""]
    if not items:
        raise InvalidArgument(f"empty list for '{name}{op}': give one or more comma-separated values",
                              code="INVALID_QUERY_VALUE", details={"field": name, "operator": op, "value": raw})
    return items


def _is_tag_condition(model, name):
    from .models import Resource

    return name == "tag" and issubclass(model, Resource)


def _tag_condition(queryset, op, value, user):
    from .models import Tag

    tags = Tag.objects.filter(resource_type=queryset.model.resource_type())
    if user is not None and not getattr(user, "is_admin", False):
        tags = tags.filter(models.Q(account_id=user.account_id) | models.Q(type="system"))
    if op in ("=", "!="):
        matching = tags.filter(tag=value)
    elif op in ("?=", "!?="):
        matching = tags.filter(tag__in=_in_list(value, "tag", op))
    elif op in ("~=", "!~="):
        matching = tags.filter(tag__like=value)
    else:
        raise InvalidArgument(
            f"operator '{op}' does not apply to tag: use = != ?= !?= ~= !~=",
            code="INVALID_QUERY", details={"field": "tag", "operator": op},
        )
    uuids = matching.values("resource_uuid")
    if op.startswith("!"):
        return queryset.exclude(uuid__in=uuids)
    return queryset.filter(uuid__in=uuids)


def _lookup(resolved, name, op, raw):
    """The ORM lookup ``{path__lookup: value}`` for one condition (without negation)."""
    path = resolved.orm_path
    if raw == "null" and op in ("=", "!="):
        return {f"{path}__isnull": True}
    if op in ("=", "!="):
        return {path: coerce(resolved.field, raw, name)}
    if op in _RANGE_LOOKUPS:
        return {f"{path}__{_RANGE_LOOKUPS[op]}": coerce(resolved.field, raw, name)}
    if op in ("?=", "!?="):
        return {f"{path}__in": [coerce(resolved.field, item, name) for item in _in_list(raw, name, op)]}
    # ~= and !~=
    if not isinstance(resolved.field, _LIKE_FIELDS):
        raise InvalidArgument(
            f"operator '{op}' (LIKE) applies to text fields only, not to '{name}'",
            code="INVALID_QUERY", details={"field": name, "operator": op},
        )
    return {f"{path}__like": raw}


def apply_condition(queryset, text, user=None):
    """Apply one ``q=`` condition. Returns ``(queryset, crossed_a_to_many_relation)``."""
    name, op, raw = parse_condition(text)
    if _is_tag_condition(queryset.model, name):
        return _tag_condition(queryset, op, raw, user), False
    resolved = resolve(queryset.model, name, user)
    lookup = _lookup(resolved, name, op, raw)
    negate = op.startswith("!")
    if resolved.multi_valued:
        # "has a related row matching" as a semi-join: one row per object, whatever
        # the number of matching children, and NOT IN for "has none".
        matching = queryset.model._base_manager.filter(**lookup).values("pk")
        lookup = {"pk__in": matching}
    if negate:
        return queryset.exclude(**lookup), resolved.multi_valued
    return queryset.filter(**lookup), resolved.multi_valued


def apply_query(queryset, conditions, user=None):
    """Apply every ``q=`` condition (AND). To-many joins are semi-joins: no duplicate rows."""
    for text in conditions:
        queryset, _ = apply_condition(queryset, text, user)
    return queryset


def apply_ordering(queryset, ordering, user=None):
    """``ordering=-created_at,name``: declared fields only (admin-only ones for admins only, as in
    ``resolve``); ``id`` breaks ties for stable pages."""
    if not ordering:
        return queryset.order_by(*queryset.model._meta.ordering or ["id"])
    keys = []
    for item in ordering.split(","):
        item = item.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item.lstrip("-+")
        resolved = resolve(queryset.model, name, user)
        if resolved.multi_valued:
            raise InvalidArgument(
                f"cannot order by '{name}': it goes through a to-many relation (a row has many values)",
                code="INVALID_QUERY_FIELD", details={"field": name},
            )
        keys.append(("-" if desc else "") + resolved.orm_path)
    last_desc = keys[-1].startswith("-") if keys else False
    keys.append("-id" if last_desc else "id")
    return queryset.order_by(*keys)

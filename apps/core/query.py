"""The query DSL every list endpoint speaks (ZStack-compatible, ARCHITECTURE §3).

    ?q=state=Enabled&q=cluster.zone.name~=z%&ordering=-created_at&limit=50&offset=0&fields=uuid,name

A condition is ``FIELD OP VALUE``; FIELD is a declared field of the model's inner
``Query`` class, or a dotted path through its declared ``relations`` to a declared
field of the related model. Nothing undeclared is queryable (secrets never are).

Operators: ``=`` ``!=`` ``>`` ``>=`` ``<`` ``<=`` ``?=`` (in, comma list) ``!?=``
(not in) ``~=`` (SQL LIKE with ``%`` and ``_``) ``!~=`` (not like); ``=null`` and
``!=null`` test for a missing value. ``tag`` matches user/system tags on the row.
"""
import re

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Lookup
from django.utils.dateparse import parse_datetime

from .errors import InvalidArgument

OPERATORS = ("!?=", "!~=", "?=", "~=", ">=", "<=", "!=", "=", ">", "<")
_CONDITION = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_.]*)(?P<op>" + "|".join(re.escape(o) for o in OPERATORS) + r")(?P<value>.*)$",
    re.S,
)
_RANGE_LOOKUPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


@models.Field.register_lookup
class Like(Lookup):
    """``field LIKE pattern``: ``%`` any run, ``_`` one character (as in SQL)."""

    lookup_name = "like"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", list(lhs_params) + list(rhs_params)


def query_meta(model):
    meta = getattr(model, "Query", None)
    if meta is None:
        raise InvalidArgument(f"{model.__name__} is not queryable")
    return meta


def _aliases(model):
    return getattr(query_meta(model), "aliases", {})


class Resolved:
    def __init__(self, orm_path, field, multi_valued):
        self.orm_path = orm_path
        self.field = field
        self.multi_valued = multi_valued


def resolve(model, dotted):
    """Map an API field path (``cluster.zone.name``) to its ORM path and model field."""
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
    orm_last = _aliases(current).get(last, last)
    field = _field_at(current, orm_last)
    return Resolved("__".join(orm_parts + [orm_last]), field, multi)


def _field_at(model, orm_path):
    current = model
    field = None
    for part in orm_path.split("__"):
        field = current._meta.get_field(part)
        if field.is_relation:
            current = field.related_model
    if field.is_relation:  # e.g. alias "zone" -> the related pk
        field = field.related_model._meta.pk
    return field


def coerce(field, raw, dotted):
    """Turn a query-string value into the field's Python type, or 400 naming it."""
    try:
        if isinstance(field, (models.DateTimeField,)):
            value = parse_datetime(raw)
            if value is None:
                raise ValidationError("not an ISO 8601 date-time")
            return value
        if isinstance(field, models.BooleanField):
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValidationError("not a boolean")
            return lowered in ("true", "1")
        return field.to_python(raw)
    except (ValidationError, ValueError, TypeError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        raise InvalidArgument(
            f"bad value '{raw}' for '{dotted}': {message}",
            code="INVALID_QUERY_VALUE",
            details={"field": dotted, "value": raw},
        ) from None


def parse_condition(text):
    match = _CONDITION.match(text)
    if not match:
        raise InvalidArgument(
            f"bad query condition '{text}': expected FIELD OP VALUE with OP one of {' '.join(OPERATORS)}",
            code="INVALID_QUERY",
            details={"q": text, "operators": list(OPERATORS)},
        )
    return match.group("field"), match.group("op"), match.group("value")


def _tag_condition(queryset, op, value, user):
    from .models import Tag

    tags = Tag.objects.filter(resource_type=queryset.model.resource_type())
    if user is not None and not getattr(user, "is_admin", False):
        tags = tags.filter(models.Q(account_id=user.account_id) | models.Q(type="system"))
    if op in ("=", "!="):
        matching = tags.filter(tag=value)
    elif op in ("?=", "!?="):
        matching = tags.filter(tag__in=[v for v in value.split(",") if v])
    elif op in ("~=", "!~="):
        matching = tags.filter(tag__like=value)
    else:
        raise InvalidArgument(f"operator '{op}' does not apply to tag", code="INVALID_QUERY")
    uuids = matching.values("resource_uuid")
    if op.startswith("!"):
        return queryset.exclude(uuid__in=uuids)
    return queryset.filter(uuid__in=uuids)


def apply_condition(queryset, text, user=None):
    name, op, raw = parse_condition(text)
    if name == "tag" and hasattr(queryset.model, "resource_type"):
        return _tag_condition(queryset, op, raw, user), False
    resolved = resolve(queryset.model, name)
    path = resolved.orm_path
    if raw == "null" and op in ("=", "!="):
        return queryset.filter(**{f"{path}__isnull": op == "="}), resolved.multi_valued
    if op in ("=", "!="):
        lookup = {path: coerce(resolved.field, raw, name)}
    elif op in _RANGE_LOOKUPS:
        lookup = {f"{path}__{_RANGE_LOOKUPS[op]}": coerce(resolved.field, raw, name)}
    elif op in ("?=", "!?="):
        items = [coerce(resolved.field, item, name) for item in raw.split(",") if item != ""]
        if not items:
            raise InvalidArgument(f"empty list for '{name}{op}'", code="INVALID_QUERY_VALUE", details={"field": name})
        lookup = {f"{path}__in": items}
    else:  # ~= and !~=
        lookup = {f"{path}__like": raw}
    if op.startswith("!"):
        return queryset.exclude(**lookup), resolved.multi_valued
    return queryset.filter(**lookup), resolved.multi_valued


def apply_query(queryset, conditions, user=None):
    """Apply every ``q=`` condition (AND); de-duplicate rows when a to-many join is used."""
    multi = False
    for text in conditions:
        queryset, used_multi = apply_condition(queryset, text, user)
        multi = multi or used_multi
    if multi:
        queryset = queryset.distinct()
    return queryset


def apply_ordering(queryset, ordering):
    """``ordering=-created_at,name``: declared fields only; ``id`` breaks ties for stable pages."""
    if not ordering:
        return queryset.order_by(*queryset.model._meta.ordering or ["id"])
    keys = []
    for item in ordering.split(","):
        item = item.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item.lstrip("-+")
        resolved = resolve(queryset.model, name)
        keys.append(("-" if desc else "") + resolved.orm_path)
    last_desc = keys[-1].startswith("-") if keys else False
    keys.append("-id" if last_desc else "id")
    return queryset.order_by(*keys)

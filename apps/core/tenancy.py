"""Who may see and change what.

A model with ``tenant_path = None`` is infrastructure: every account reads it,
only admins change it. A model with a ``tenant_path`` (the ORM path to its owning
account) is a tenant resource: a normal account sees only its own rows, and
another account's row answers 404, as if it did not exist.

A tenant model may also name a boolean ``shared_field`` (images: ``public``): rows with it
set are readable by every account, but still changed only by their owner (or an admin), the
way ZStack shares a resource with everyone.
"""
from django.db.models import Q

from . import prepared


def is_admin(user):
    return bool(user and user.is_authenticated and getattr(user, "is_admin", False))


def visible(queryset, user, for_write=False):
    """The rows ``user`` may read (or, ``for_write``, change)."""
    if user is None or not user.is_authenticated:
        return queryset.none()
    path = getattr(queryset.model, "tenant_path", None)
    if is_admin(user) or path is None:
        return queryset
    own = Q(**{path: user.account_id})
    shared = getattr(queryset.model, "shared_field", None)
    if shared and not for_write:
        return queryset.filter(own | Q(**{shared: True}))
    return queryset.filter(own)


# tenant paths whose owner is a column of the row itself (visible_by_uuid's prepared shapes)
_OWNER_COLUMN = {"account": "account_id", "id": "id"}


def visible_by_uuid(queryset, uuid, user, related=()):
    """``visible(queryset, user).select_related(*related).filter(uuid=uuid)``'s row or None, as a
    prepared query (apps.core.prepared): what an API request does for every uuid it is given,
    without building and compiling a QuerySet each time. ``queryset`` must take every row of its
    model as they are (no filter, join, annotation or slice: ``is_plain``). NotImplemented for a
    tenant path across a join."""
    if user is None or not user.is_authenticated:
        return None
    model = queryset.model
    path = getattr(model, "tenant_path", None)
    p = prepared.Params()
    by_uuid = p("uuid", uuid, model._meta.get_field("uuid"))
    if is_admin(user) or path is None:
        shape, condition = ("visible-by-uuid",), Q()
    elif path in _OWNER_COLUMN:
        column = _OWNER_COLUMN[path]
        condition = Q(**{column: p("account", user.account_id, model._meta.get_field(column))})
        shared = getattr(model, "shared_field", None)
        if shared:
            condition |= Q(**{shared: True})
        shape = ("visible-by-uuid", column, shared)
    else:
        return NotImplemented
    if related:
        queryset = queryset.select_related(*related)
        shape += ("related",) + tuple(related)
    found = prepared.select(model, shape, lambda: queryset.filter(condition, uuid=by_uuid).order_by()[:1], p)
    return found[0] if found else None


def is_plain(queryset):
    """Every row of its model, as they are: what ``visible_by_uuid`` may key by model alone."""
    query = queryset.query
    return not (query.where or query.select_related or query.annotations or query.extra or query.distinct
                or query.low_mark or query.high_mark is not None or query.deferred_loading[0])

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

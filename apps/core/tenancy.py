"""Who may see and change what.

A model with ``tenant_path = None`` is infrastructure: every account reads it,
only admins change it. A model with a ``tenant_path`` (the ORM path to its owning
account) is a tenant resource: a normal account sees only its own rows, and
another account's row answers 404, as if it did not exist.
"""


def is_admin(user):
    return bool(user and user.is_authenticated and getattr(user, "is_admin", False))


def visible(queryset, user):
    if user is None or not user.is_authenticated:
        return queryset.none()
    path = getattr(queryset.model, "tenant_path", None)
    if is_admin(user) or path is None:
        return queryset
    return queryset.filter(**{path: user.account_id})

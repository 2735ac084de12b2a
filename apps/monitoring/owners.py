"""Whose eyes a rule or a schedule sees with: its account's (an admin's rule, or a built-in one, sees
everything; a normal account's only its own resources), through core's tenancy and query DSL."""
from apps.core.query import apply_query
from apps.core.tenancy import visible


class AccountActor:
    """Stands for an account where core asks for a user (tenancy, the query DSL, a job's owner)."""

    is_authenticated = True
    pk = None

    def __init__(self, account):
        self.account = account
        self.account_id = account.pk if account is not None else None

    @property
    def is_admin(self):
        return self.account is None or self.account.is_admin


def visible_resources(model, account, uuids=(), conditions=()):
    """The rows of ``model`` ``account`` may see, narrowed to ``uuids`` and the ``q=`` ``conditions``."""
    actor = AccountActor(account)
    queryset = visible(model.objects.all(), actor)
    if uuids:
        queryset = queryset.filter(uuid__in=list(uuids))
    if conditions:
        queryset = apply_query(queryset, list(conditions), actor)
    return queryset

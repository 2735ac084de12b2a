"""Accounts' console pages (apps.core.ui): accounts and their users."""
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages

from .views import AccountViewSet, UserViewSet


class AccountPages(ResourcePages):
    viewset = AccountViewSet
    menu = (_("Accounts"), _("Accounts"))
    order = 800
    columns = ["name", "type", "description", "created_at"]
    fields = ["name", "description", "type", "password"]
    # the API refuses a normal account's delete once the object is found (AccountWrites): a list's
    # bulk delete, with no object in hand, could not tell
    actions = [Action("delete", admin_only=True)]
    related = [Related("users", "account_uuid", label=_("Users"))]
    labels = {"password": _("Password")}
    search_example = "type=Normal"


class UserPages(ResourcePages):
    viewset = UserViewSet
    menu = (_("Accounts"), _("Users"))
    order = 810
    columns = ["name", "account_uuid", "description", "created_at"]
    fields = ["name", "description", "account_uuid", "password"]
    actions = ["delete"]
    labels = {"password": _("Password")}
    search_example = "name~=ops%"

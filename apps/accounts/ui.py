"""Accounts' console pages (apps.core.ui): accounts and their users, a user's password."""
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, Related, ResourcePages
from apps.core.ui.apicall import call
from apps.core.ui.base import is_htmx
from apps.core.ui.edit import FormView, go
from apps.core.ui.widgets import inputs

from .serializers import UserSerializer
from .models import User
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


class UserPassword(FormView):
    """``users/<uuid>/password/``: a new password, set by the API's ``PATCH /users/<uuid>/`` (its
    length rule and messages; another account's user is its 404)."""

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, "users", *args, **kwargs)

    def get(self, request, uuid):
        answer = call(request, "GET", self.detail_path(uuid))
        if not answer.ok:
            return self.failed(answer)
        return self.password_form(answer.data)

    def post(self, request, uuid):
        answer = call(request, "PATCH", self.detail_path(uuid))   # the form's one field: password
        if answer.ok:
            if str(uuid) == str(request.user.uuid):   # one's own: the session goes on with the new password
                update_session_auth_hash(request, User.objects.get(pk=request.user.pk))
            messages.success(request, _("Password changed."))
            return go(request, reverse("ui:detail", kwargs={"basename": "users", "uuid": uuid}))
        if answer.status == 404:
            return self.failed(answer)
        current = call(request, "GET", self.detail_path(uuid))
        user = current.data if current.ok else {"uuid": str(uuid)}
        return self.password_form(user, answer, status=200 if is_htmx(request) else 400)

    def password_form(self, user, answer=None, status=200):
        serializer = UserSerializer(instance=user, context={"request": self.request})
        errors = answer.field_errors if answer is not None else {}
        fields = inputs(serializer, ["password"], {}, errors, {"password": _("New password")})
        context = {"title": _("Change the password of %(name)s") % {"name": user.get("name") or user["uuid"]},
                   "fields": fields, "uuid": str(user["uuid"]), "multipart": False,
                   "error": answer.message if answer is not None and "password" not in errors else "",
                   "cancel_url": reverse("ui:detail", kwargs={"basename": "users", "uuid": user["uuid"]})}
        template = "ui/_form.html" if is_htmx(self.request) and answer is not None else "ui/form.html"
        return self.page(template, context, status=status)


class UserPages(ResourcePages):
    viewset = UserViewSet
    basename = "users"
    menu = (_("Accounts"), _("Users"))
    order = 810
    columns = ["name", "account_uuid", "description", "created_at"]
    fields = ["name", "description", "account_uuid", "password"]
    edit_fields = ["name", "description"]   # the password has its own page (an empty one is the API's 400)
    actions = [Action("delete", destructive=True)]
    labels = {"password": _("Password")}
    search_example = "name~=ops%"
    detail_template = "accounts/user_detail.html"   # "Change password" beside "Edit"

    @classmethod
    def extra_urls(cls):
        return [path("<uuid:uuid>/password/", UserPassword.as_view(), name="user-password")]

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..tenancy import is_admin


class ReadAllWriteByAdmin(BasePermission):
    """Infrastructure: every account reads, only admins change (403 otherwise)."""

    message = "only an admin account may change this resource"

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return True
        model = view.get_model()
        if getattr(model, "admin_only_writes", False) and getattr(model, "tenant_path", None) is None:
            return is_admin(request.user)
        return True


class AdminOnly(BasePermission):
    message = "only an admin account may do this"

    def has_permission(self, request, view):
        return is_admin(request.user)


class GlobalConfigWrites(BasePermission):
    """Global configs: every account reads them, only an admin changes or resets one. The console
    asks the same (apps.core.ui.apicall.permitted) before it shows a config's form."""

    message = "only an admin account may change global configs"

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or is_admin(request.user)

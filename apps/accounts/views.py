from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.viewsets import QueryViewSet, ResourceViewSet, audit
from apps.core.errors import CloudPortalError, Conflict, PermissionDenied
from apps.core.tenancy import is_admin

from .models import Account, ApiToken, User
from .serializers import AccountSerializer, LoginSerializer, TokenSerializer, UserSerializer


THROTTLED_MESSAGE = "too many failed logins for this user name or from this address; try again later."


class LoginView(APIView):
    """``POST /api/v1/auth/login/ {"username", "password"}`` → ``{"token", ...}``."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=LoginSerializer, responses=TokenSerializer)
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        audit(request, action="auth.login", user_name=username)
        user = authenticate(request, username=username, password=serializer.validated_data["password"])
        refused_for = getattr(request, "login_refused_for", 0)
        if refused_for:  # apps.accounts.backends: too many failures for this name or address
            raise Throttled(wait=refused_for, detail=THROTTLED_MESSAGE)
        if user is None or user.account is None:
            raise CloudPortalError("wrong user name or password", code="AUTHENTICATION_FAILED", status=401)
        audit(request, user=user)
        key = ApiToken.issue(user)
        return Response({"token": key, "user_uuid": str(user.uuid), "account_uuid": str(user.account.uuid),
                         "account_type": user.account.type})


class LogoutView(APIView):
    """Revokes the token the request was made with (and ends a browser session)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        audit(request, action="auth.logout")
        if isinstance(request.auth, str):
            ApiToken.revoke(request.auth)
        if hasattr(request, "session"):
            from django.contrib.auth import logout

            logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountWrites(BasePermission):
    """Every account reads (its own); only admins create, change or delete accounts. A change
    or delete by a normal account is refused once the object is found, so another account's
    is the 404 it is for a read. The console asks the same before it shows a button."""

    REFUSED = {"create": "only an admin account may create accounts",
               "destroy": "only an admin account may delete accounts"}

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if view.action == "create" and not is_admin(request.user):
            self.message = self.REFUSED["create"]
            return False
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS or is_admin(request.user):
            return True
        self.message = self.REFUSED.get(view.action, "only an admin account may change accounts")
        return False


class AccountViewSet(ResourceViewSet, mixins.DestroyModelMixin):
    """Accounts: admins create and see all; a normal account sees only itself."""

    queryset = Account.objects.all()
    serializer_class = AccountSerializer

    def get_permissions(self):
        return [AccountWrites()]

    def destroy(self, request, *args, **kwargs):
        obj = self.get_object()
        if obj.pk == request.user.account_id:
            raise Conflict("an account cannot delete itself", code="CANNOT_DELETE_SELF")
        return super().destroy(request, *args, **kwargs)


class UserViewSet(QueryViewSet, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                  mixins.DestroyModelMixin):
    """Users of accounts: admins manage all; an account manages its own users."""

    queryset = User.objects.all()
    joins = ("account",)
    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]

    def perform_create(self, serializer):
        account = serializer.validated_data.get("account")
        if account is None:
            account = self.request.user.account
        elif not is_admin(self.request.user) and account.pk != self.request.user.account_id:
            raise PermissionDenied("users can only be added to your own account")
        user = serializer.save(account=account)
        audit(self.request, action="users.create", resource_type="User", resource_uuid=user.uuid)

    def perform_update(self, serializer):
        audit(self.request, action="users.update", resource_type="User", resource_uuid=serializer.instance.uuid)
        serializer.save()

    def perform_destroy(self, instance):
        audit(self.request, action="users.delete", resource_type="User", resource_uuid=instance.uuid)
        if instance.pk == self.request.user.pk:
            raise Conflict("you cannot delete the user you are logged in as", code="CANNOT_DELETE_SELF")
        if instance.account and instance.account.name == instance.username:
            raise Conflict("an account's first user is deleted with its account", code="CANNOT_DELETE_OWNER")
        instance.delete()

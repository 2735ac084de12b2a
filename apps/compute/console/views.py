"""The console page: noVNC connected to ``/ws/console/<token>/`` with the VM's VNC
password filled in.

``/console/vm/<uuid>/?token=<token>`` (the API's ``console_url``): the page hands the
browser the VM's VNC password, so it is served only to the token's own user, logged in
(a session); an anonymous browser is sent to log in first and then gets a fresh token, a
browser logged in as another user is refused. Without a token a logged-in user gets a
fresh one. The page is never cached and sends no referrer (its URL carries the token).
"""
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from apps.core.errors import CloudPortalError
from apps.core.tenancy import visible

from ..models import VmInstance
from . import tokens
from .password import ensure_password
from .service import CLOSE_NOT_FOUND, ConsoleRefused, check_console, resolve, websocket_path

NOVNC_ENTRY = "novnc/core/rfb.js"
_STATUS = {4401: 403, 4403: 403, 4404: 404, 4409: 409}


def novnc_installed():
    return finders.find(NOVNC_ENTRY) is not None


def console_page(request, uuid):
    token = request.GET.get("token", "")
    context = {"vm_uuid": str(uuid), "novnc_installed": novnc_installed(), "error": None}
    status = 200
    if not request.user.is_authenticated:
        # back here without the token: it may be expired by then, and the login page's URL
        # (and its logs) should not carry it
        return redirect_to_login(request.path)
    try:
        if not token:
            token = _token_for_session_user(request, uuid)
        claims, vm = resolve(token, request.user, consume=False)
        if claims.vm_uuid != str(uuid):
            raise ConsoleRefused(CLOSE_NOT_FOUND, f"VM {uuid} not found")
        context.update(vm_name=vm.name, expires_at=claims.expires_at,
                       console_config={"websocket_path": websocket_path(token), "password": ensure_password(vm)})
        if not context["novnc_installed"]:
            status = 503
    except ConsoleRefused as exc:
        context["error"] = exc.reason
        status = _STATUS.get(exc.close_code, 409)
    except CloudPortalError as exc:
        context["error"] = exc.message
        status = exc.status
    response = render(request, "compute/console.html", context, status=status)
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    return response


def _token_for_session_user(request, uuid):
    vm = visible(VmInstance.objects.select_related("host"), request.user).filter(uuid=uuid).first()
    if vm is None:
        raise ConsoleRefused(CLOSE_NOT_FOUND, f"VM {uuid} not found")
    check_console(vm)
    return tokens.issue(request.user, vm)[0]

"""Who may open a VM's console, and where its VNC server is.

``check_console(vm)`` is the rule (used when a token is issued and again when it is
used): the VM is Running or Paused, on a host whose agent is Connected, and that
host is a real one (a simulated host has no VNC server). ``open_console`` answers
the API; ``resolve`` turns a token into the VM, its host and its password for the
page and the websocket.
"""
from django.contrib.auth import get_user_model

from apps.core.errors import CloudPortalError, InvalidState
from apps.core.tenancy import visible

from apps.infra.models import HostStatus

from . import tokens
from ..models import VmInstance, VmState
from .password import ensure_password

CONSOLE_STATES = (VmState.RUNNING, VmState.PAUSED)

# websocket close codes (4000-4999 are the application's): what the browser is told
CLOSE_BAD_TOKEN = 4401      # invalid, tampered, expired or already used
CLOSE_WRONG_USER = 4403     # the browser's session belongs to another user
CLOSE_NOT_FOUND = 4404      # the VM is gone or no longer visible to the token's user
CLOSE_WRONG_STATE = 4409    # the VM is not Running/Paused, its host is not Connected, no VNC port
CLOSE_UNREACHABLE = 4502    # the agent or the VNC server did not answer


class ConsoleRefused(Exception):
    def __init__(self, close_code, reason):
        super().__init__(reason)
        self.close_code = close_code
        self.reason = reason


def check_console(vm):
    """Raise a 409 CloudPortalError naming why ``vm`` has no console now."""
    if vm.state not in CONSOLE_STATES:
        raise InvalidState(f"VM {vm.uuid} is {vm.state}: a console needs a Running or Paused VM",
                           details={"state": vm.state, "vm_uuid": str(vm.uuid)})
    host = vm.host
    if host is None:
        raise CloudPortalError(f"VM {vm.uuid} is {vm.state} but has no host", code="VM_HAS_NO_HOST", status=409,
                               details={"state": vm.state, "vm_uuid": str(vm.uuid)})
    if host.hypervisor_type == "Simulator":
        raise CloudPortalError(f"VM {vm.uuid} runs on simulated host {host.name}, which has no VNC console",
                               code="CONSOLE_UNAVAILABLE", status=409,
                               details={"host_uuid": str(host.uuid), "hypervisor_type": host.hypervisor_type})
    if host.status != HostStatus.CONNECTED:
        raise CloudPortalError(f"host {host.name} of VM {vm.uuid} is {host.status}: its console cannot be reached",
                               code="HOST_DISCONNECTED", status=409,
                               details={"host_uuid": str(host.uuid), "host_status": host.status})


def open_console(request, vm):
    """The API answer: a token and where to use it."""
    check_console(vm)
    ensure_password(vm)
    token, claims = tokens.issue(request.user, vm)
    scheme = "wss" if request.is_secure() else "ws"
    return {
        "token": token,
        "websocket_url": f"{scheme}://{request.get_host()}{websocket_path(token)}",
        "console_url": request.build_absolute_uri(page_path(vm.uuid, token)),
        "expires_at": claims.expires_at,
    }


def websocket_path(token):
    return f"/ws/console/{token}/"


def page_path(vm_uuid, token):
    from django.urls import reverse
    from urllib.parse import urlencode

    return f"{reverse('vm-console', kwargs={'uuid': vm_uuid})}?{urlencode({'token': token})}"


def resolve(token, session_user=None, *, consume):
    """``(claims, vm)`` for a token presented by a browser whose session user is
    ``session_user`` (None or anonymous: the token alone is the credential).
    ``consume``: use the token up (the websocket), or only look (the page)."""
    try:
        claims = tokens.verify(token)
    except tokens.BadToken as exc:
        raise ConsoleRefused(CLOSE_BAD_TOKEN, exc.reason) from None
    if session_user is not None and session_user.is_authenticated and str(session_user.uuid) != claims.user_uuid:
        raise ConsoleRefused(CLOSE_WRONG_USER, "the console token was issued to another user")
    user = get_user_model().objects.select_related("account").filter(uuid=claims.user_uuid, is_active=True).first()
    vm = None
    if user is not None:
        vm = visible(VmInstance.objects.select_related("host"), user).filter(uuid=claims.vm_uuid).first()
    if vm is None:
        raise ConsoleRefused(CLOSE_NOT_FOUND, f"VM {claims.vm_uuid} not found")
    try:
        check_console(vm)
    except CloudPortalError as exc:
        raise ConsoleRefused(CLOSE_WRONG_STATE, exc.message) from None
    if consume and not tokens.consume(claims):
        raise ConsoleRefused(CLOSE_BAD_TOKEN, "the console token was used already")
    return claims, vm

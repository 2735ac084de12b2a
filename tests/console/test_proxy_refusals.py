"""The console websocket refuses a bad token, another user's browser, a VM that has no
console any more and an unreachable host: with a close code and no data."""
import base64
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from apps.compute.console import tokens
from apps.compute.models import VmInstance, VmState
from apps.core.testing import make_account
from cloudportal.asgi import application

from .helpers import make_host, make_vm

pytestmark = pytest.mark.django_db(transaction=True)


def refusal(token, headers=None, subprotocols=None):
    """Connect to the console websocket; the close code it answers with (None if it relayed data)."""
    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/console/{token}/", headers=headers,
                                             subprotocols=subprotocols)
        accepted, subprotocol = await communicator.connect(timeout=5)
        assert accepted   # accepted first, so that the refusal can carry its code
        message = await communicator.receive_output(timeout=20)
        await communicator.disconnect(code=message.get("code", 1000), timeout=5)
        return message, subprotocol

    message, subprotocol = async_to_sync(scenario)()
    assert message["type"] == "websocket.close", f"data was sent before the refusal: {message}"
    refusal.reason = message.get("reason") or ""
    return message["code"], subprotocol


@pytest.fixture
def tenant_vm(db):
    user = make_account("console-owner")
    return user, make_vm(user.account, make_host())


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())]


def test_expired_token_is_refused(tenant_vm):
    user, vm = tenant_vm
    token, _ = tokens.issue(user, vm, ttl=-1)
    assert refusal(token)[0] == 4401


def test_tampered_token_is_refused(tenant_vm):
    user, vm = tenant_vm
    token, _ = tokens.issue(user, vm)
    payload, signature = token.split(":", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert refusal(f"{payload}:{flipped}")[0] == 4401
    # the claims of another VM under this token's signature
    other_vm = make_vm(user.account, vm.host, name="vm-2")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["v"] = str(other_vm.uuid)
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    assert refusal(f"{forged}:{signature}")[0] == 4401
    assert refusal("not-a-token")[0] == 4401


def test_token_from_another_users_browser_session_is_refused(tenant_vm):
    user, vm = tenant_vm
    token, _ = tokens.issue(user, vm)
    intruder = make_account("intruder")
    assert refusal(token, headers=session_cookie(intruder))[0] == 4403


def test_token_is_bound_to_its_user_and_vm_when_the_vm_changes_hands(tenant_vm):
    user, vm = tenant_vm
    token, _ = tokens.issue(user, vm)
    VmInstance.objects.filter(pk=vm.pk).update(account=make_account("new-owner").account)
    assert refusal(token)[0] == 4404


def test_vm_stopped_after_the_token_was_issued_is_refused(tenant_vm):
    user, vm = tenant_vm
    token, _ = tokens.issue(user, vm)
    VmInstance.objects.filter(pk=vm.pk).update(state=VmState.STOPPED)
    assert refusal(token)[0] == 4409


def test_token_opens_one_connection_only_and_an_unreachable_agent_is_reported(tenant_vm):
    user, vm = tenant_vm   # its host's agent port has nothing listening
    token, _ = tokens.issue(user, vm)
    code, subprotocol = refusal(token, headers=session_cookie(user), subprotocols=["binary"])
    assert code == 4502 and subprotocol == "binary"
    # the reason names the host, never its management address or the agent's port
    assert refusal.reason == f"the agent of host {vm.host.name} did not answer"
    assert vm.host.management_ip not in refusal.reason and str(vm.host.agent_port) not in refusal.reason
    assert refusal(token)[0] == 4401   # used already

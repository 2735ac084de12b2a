"""The console page /console/vm/<uuid>/: noVNC wired to the websocket, the VNC password
filled in, refusals explained, noVNC served locally."""
import json
import re

import pytest
from django.test import Client

from apps.compute.console import tokens
from apps.compute.models import VmInstance
from apps.core.testing import make_account

from .helpers import make_host, make_vm

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_vm():
    user = make_account("page-owner")
    return user, make_vm(user.account, make_host(), console_password="Ab3dEf7h")


def page_config(response):
    match = re.search(r'<script id="console-config" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, response.content.decode()[:2000]
    return json.loads(match.group(1))


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_page_with_a_token_runs_novnc_with_the_vm_password(owner_vm):
    user, vm = owner_vm
    token, _ = tokens.issue(user, vm)
    response = logged_in(user).get(f"/console/vm/{vm.uuid}/", {"token": token})
    assert response.status_code == 200
    assert page_config(response) == {"websocket_path": f"/ws/console/{token}/", "password": "Ab3dEf7h"}
    html = response.content.decode()
    assert 'import RFB from "/static/novnc/core/rfb.js"' in html
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "no-referrer"
    tokens.verify(token)   # the page does not use the token up: the websocket does


def test_page_with_a_valid_token_sends_an_anonymous_browser_to_log_in_and_tells_it_nothing(owner_vm):
    """The page carries the VM's VNC password: the token alone (a link that leaked, say) is not enough."""
    user, vm = owner_vm
    token, _ = tokens.issue(user, vm)
    response = Client().get(f"/console/vm/{vm.uuid}/", {"token": token})
    assert response.status_code == 302 and response["Location"].startswith("/ui/login/")   # the console's login page (LOGIN_URL)
    assert token not in response["Location"] and f"/console/vm/{vm.uuid}/" in response["Location"]
    assert b"Ab3dEf7h" not in response.content
    tokens.verify(token)   # not used up


def test_novnc_is_served_locally():
    response = Client().get("/static/novnc/core/rfb.js")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert b"export default class RFB" in b"".join(response.streaming_content)


def test_page_refuses_a_token_of_another_vm(owner_vm):
    user, vm = owner_vm
    other = make_vm(user.account, vm.host, name="vm-2")
    token, _ = tokens.issue(user, other)
    response = logged_in(user).get(f"/console/vm/{vm.uuid}/", {"token": token})
    assert response.status_code == 404 and "console-config" not in response.content.decode()


def test_page_refuses_a_browser_logged_in_as_another_user(owner_vm):
    user, vm = owner_vm
    token, _ = tokens.issue(user, vm)
    client = Client()
    client.force_login(make_account("someone-else"))
    response = client.get(f"/console/vm/{vm.uuid}/", {"token": token})
    assert response.status_code == 403 and "another user" in response.content.decode()
    assert "Ab3dEf7h" not in response.content.decode()


def test_page_explains_an_expired_or_used_token(owner_vm):
    user, vm = owner_vm
    expired, _ = tokens.issue(user, vm, ttl=-1)
    response = logged_in(user).get(f"/console/vm/{vm.uuid}/", {"token": expired})
    assert response.status_code == 403
    assert "expired" in response.content.decode() and f"/api/v1/vm-instances/{vm.uuid}/console/" in \
        response.content.decode()
    used, claims = tokens.issue(user, vm)
    tokens.consume(claims)
    assert "used already" in logged_in(user).get(f"/console/vm/{vm.uuid}/", {"token": used}).content.decode()


def test_page_without_token_gives_a_logged_in_owner_a_fresh_one(owner_vm):
    user, vm = owner_vm
    client = Client()
    client.force_login(user)
    response = client.get(f"/console/vm/{vm.uuid}/")
    assert response.status_code == 200
    token = page_config(response)["websocket_path"].split("/")[3]
    assert tokens.verify(token).vm_uuid == str(vm.uuid)


def test_page_without_token_sends_an_anonymous_browser_to_log_in(owner_vm):
    _, vm = owner_vm
    response = Client().get(f"/console/vm/{vm.uuid}/")
    assert response.status_code == 302 and "/ui/login/" in response["Location"]


def test_page_of_a_stopped_vm_says_why(owner_vm):
    user, vm = owner_vm
    client = Client()
    client.force_login(user)
    VmInstance.objects.filter(pk=vm.pk).update(state="Stopped")
    response = client.get(f"/console/vm/{vm.uuid}/")
    assert response.status_code == 409 and "is Stopped" in response.content.decode()


def test_page_says_how_to_install_novnc_when_it_is_missing(owner_vm, monkeypatch):
    user, vm = owner_vm
    monkeypatch.setattr("apps.compute.console.views.novnc_installed", lambda: False)
    token, _ = tokens.issue(user, vm)
    response = logged_in(user).get(f"/console/vm/{vm.uuid}/", {"token": token})
    assert response.status_code == 503
    html = response.content.decode()
    assert "npm" in html and "make install" in html and "Ab3dEf7h" not in html

"""POST /api/v1/vm-instances/<uuid>/console/: who gets a console token, and what it says."""
import time
from datetime import datetime

import pytest

from apps.compute.console import tokens
from apps.compute.models import VmInstance, VmState
from apps.core.models import AuditLog
from apps.infra.models import HostStatus

from .helpers import make_host, make_vm

pytestmark = pytest.mark.django_db


def url(vm):
    return f"/api/v1/vm-instances/{vm.uuid}/console/"


def test_console_token_for_a_running_vm(tenant_user, tenant_client):
    vm = make_vm(tenant_user.account, make_host())
    response = tenant_client.post(url(vm))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "websocket_url", "console_url", "expires_at"}
    assert body["websocket_url"] == f"ws://testserver/ws/console/{body['token']}/"
    assert body["console_url"].startswith(f"http://testserver/console/vm/{vm.uuid}/?token=")
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
    assert 55 <= expires - time.time() <= 61   # vm/console.token.ttl defaults to 60 s
    claims = tokens.verify(body["token"])
    assert (claims.user_uuid, claims.vm_uuid) == (str(tenant_user.uuid), str(vm.uuid))
    assert "password" not in response.content.decode().lower()   # the password goes to the page only
    log = AuditLog.objects.get(action="vm-instances.console")
    assert log.resource_uuid == vm.uuid and log.status_code == 200


def test_console_generates_the_vm_password_once(tenant_user, tenant_client):
    vm = make_vm(tenant_user.account, make_host())
    assert vm.console_password == ""
    assert tenant_client.post(url(vm)).status_code == 200
    password = VmInstance.objects.get(pk=vm.pk).console_password
    assert len(password) == 8 and password.isalnum()
    assert tenant_client.post(url(vm)).status_code == 200
    assert VmInstance.objects.get(pk=vm.pk).console_password == password


def test_paused_vm_has_a_console(tenant_user, tenant_client):
    vm = make_vm(tenant_user.account, make_host(), state=VmState.PAUSED)
    assert tenant_client.post(url(vm)).status_code == 200


def test_token_lifetime_follows_the_global_config(admin_client, tenant_user, tenant_client):
    config = "/api/v1/global-configs/vm/console.token.ttl/"
    assert admin_client.get(config).json()["value"] == 60
    assert admin_client.patch(config, {"value": 2}, format="json").status_code == 400   # at least 5 s
    assert admin_client.patch(config, {"value": 300}, format="json").status_code == 200
    vm = make_vm(tenant_user.account, make_host())
    claims = tokens.verify(tenant_client.post(url(vm)).json()["token"])
    assert 295 <= claims.expires - time.time() <= 301


@pytest.mark.parametrize("state", [VmState.STOPPED, VmState.STARTING, VmState.CREATED, VmState.DESTROYED])
def test_console_refused_for_a_vm_that_is_not_running_names_the_state(tenant_user, tenant_client, state):
    vm = make_vm(tenant_user.account, make_host(), state=state)
    response = tenant_client.post(url(vm))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "INVALID_STATE" and body["details"]["state"] == state
    assert f"is {state}" in body["message"] and "Running or Paused" in body["message"]


def test_console_refused_when_the_host_is_disconnected(tenant_user, tenant_client):
    vm = make_vm(tenant_user.account, make_host(status=HostStatus.DISCONNECTED))
    response = tenant_client.post(url(vm))
    assert response.status_code == 409
    assert response.json()["code"] == "HOST_DISCONNECTED"
    assert "Disconnected" in response.json()["message"]


def test_console_refused_for_a_running_vm_without_host(tenant_user, tenant_client):
    vm = make_vm(tenant_user.account, None)
    response = tenant_client.post(url(vm))
    assert response.status_code == 409 and response.json()["code"] == "VM_HAS_NO_HOST"


def test_console_refused_on_a_simulated_host(tenant_user, tenant_client):
    """The simulator's VNC ports are made up: proxying to them could reach another VM's server."""
    vm = make_vm(tenant_user.account, make_host(hypervisor_type="Simulator"))
    response = tenant_client.post(url(vm))
    assert response.status_code == 409 and response.json()["code"] == "CONSOLE_UNAVAILABLE"


def test_console_of_another_tenants_vm_is_404(tenant_client):
    from apps.core.testing import make_account

    other = make_account("tenant-b")
    vm = make_vm(other.account, make_host())
    response = tenant_client.post(url(vm))
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_admin_gets_a_console_for_any_tenants_vm(admin_user, admin_client, tenant_user):
    vm = make_vm(tenant_user.account, make_host())
    body = admin_client.post(url(vm)).json()
    assert tokens.verify(body["token"]).user_uuid == str(admin_user.uuid)


def test_console_needs_authentication(tenant_user):
    from rest_framework.test import APIClient

    vm = make_vm(tenant_user.account, make_host())
    assert APIClient().post(url(vm)).status_code == 401

"""Accounts, users, login/logout, tenancy and the admin password reset (A1 basics, A4)."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.accounts.authentication import recent_tokens
from apps.accounts.models import Account, ApiToken, User
from apps.core.models import AuditLog
from tests.conftest import client_for, make_account

pytestmark = pytest.mark.django_db


def login(username, password):
    return APIClient().post("/api/v1/auth/login/", {"username": username, "password": password}, format="json")


def test_login_gives_a_token_that_works_and_logout_revokes_it():
    make_account("alice", password="alice-pass-1")
    response = login("alice", "alice-pass-1")
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["account_type"] == "Normal"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/zones/").status_code == 200
    assert not ApiToken.objects.filter(digest=token).exists()  # only the hash is stored
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/zones/").json()["code"] == "AUTHENTICATION_FAILED"
    log = AuditLog.objects.filter(action="auth.login").latest("id")
    assert log.user_name == "alice" and log.result == "success"


def test_token_last_used_is_written_at_most_once_a_minute():
    make_account("bob", password="bob-pass-1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {login('bob', 'bob-pass-1').json()['token']}")
    token = ApiToken.objects.get(user__username="bob")
    assert client.get("/api/v1/zones/").status_code == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    assert client.get("/api/v1/zones/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first  # no write for a read a moment later
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    recent_tokens.clear()  # two minutes later the process's token cache (a second) has expired too
    assert client.get("/api/v1/zones/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_wrong_password_is_401_and_audited_as_failure():
    make_account("bob", password="bob-pass-12")
    response = login("bob", "wrong-password")
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILED"
    assert "wrong-password" not in response.content.decode()
    log = AuditLog.objects.filter(action="auth.login").latest("id")
    assert log.result == "failure" and log.user_name == "bob" and log.status_code == 401
    assert login("bob", "").status_code == 400


def test_session_auth_works_for_the_browser():
    make_account("carol", password="carol-pass-1")
    client = APIClient()
    assert client.login(username="carol", password="carol-pass-1")
    assert client.get("/api/v1/accounts/").status_code == 200
    assert APIClient().get("/api/v1/accounts/").status_code == 401


def test_admin_creates_an_account_whose_first_user_can_log_in(admin_client):
    response = admin_client.post("/api/v1/accounts/", {"name": "acme", "password": "acme-pass-1", "type": "Normal"},
                                 format="json")
    assert response.status_code == 201, response.content
    assert "password" not in response.json()
    account = Account.objects.get(name="acme")
    assert User.objects.get(username="acme").account == account
    assert login("acme", "acme-pass-1").status_code == 200
    duplicate = admin_client.post("/api/v1/accounts/", {"name": "acme", "password": "acme-pass-1"}, format="json")
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["message"]
    short = admin_client.post("/api/v1/accounts/", {"name": "x", "password": "short"}, format="json")
    assert short.status_code == 400 and "password" in short.json()["details"]


@pytest.mark.parametrize("length", [151, 200, 254])
def test_an_account_name_longer_than_a_user_name_is_400_and_nothing_is_written(admin_client, length):
    """The account's first user takes its name: a name the user name column cannot hold is refused
    (MariaDB answered 500 after committing the account without its user)."""
    name = "n" * length
    response = admin_client.post("/api/v1/accounts/", {"name": name, "password": "pass-word-1"}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "INVALID_ARGUMENT" and "name" in response.json()["details"]
    assert not Account.objects.filter(name=name).exists() and not User.objects.filter(username=name).exists()
    longest = "n" * User._meta.get_field("username").max_length
    response = admin_client.post("/api/v1/accounts/", {"name": longest, "password": "pass-word-1"}, format="json")
    assert response.status_code == 201, response.content
    assert login(longest, "pass-word-1").status_code == 200


def test_an_account_and_its_first_user_are_written_together(admin_client, monkeypatch):
    """When the user cannot be written, the account is not left behind (one transaction)."""
    from django.db import IntegrityError

    def refuse(self, *args, **kwargs):
        raise IntegrityError("refused for the test")

    monkeypatch.setattr(User, "save", refuse)
    response = admin_client.post("/api/v1/accounts/", {"name": "half", "password": "pass-word-1"}, format="json")
    assert response.status_code == 409, response.content
    assert not Account.objects.filter(name="half").exists()
    monkeypatch.undo()
    response = admin_client.post("/api/v1/accounts/", {"name": "half", "password": "pass-word-1"}, format="json")
    assert response.status_code == 201, response.content


def test_normal_account_sees_only_itself_and_cannot_create_accounts(tenant_client, tenant_user):
    other = make_account("someone-else")
    body = tenant_client.get("/api/v1/accounts/").json()
    assert [row["uuid"] for row in body["results"]] == [str(tenant_user.account.uuid)]
    assert tenant_client.get(f"/api/v1/accounts/{other.account.uuid}/").status_code == 404
    assert tenant_client.delete(f"/api/v1/accounts/{other.account.uuid}/").status_code == 404
    response = tenant_client.post("/api/v1/accounts/", {"name": "n", "password": "pass-word-1"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "PERMISSION_DENIED"
    assert tenant_client.patch(f"/api/v1/accounts/{other.account.uuid}/", {"name": "x"},
                               format="json").status_code == 404
    own = f"/api/v1/accounts/{tenant_user.account.uuid}/"
    response = tenant_client.patch(own, {"description": "mine"}, format="json")
    assert response.status_code == 403 and response.json()["message"] == "only an admin account may change accounts"
    response = tenant_client.delete(own)
    assert response.status_code == 403 and response.json()["message"] == "only an admin account may delete accounts"


def test_users_are_added_to_accounts_and_isolated(admin_client, tenant_client, tenant_user):
    other = make_account("other-co")
    response = admin_client.post("/api/v1/users/", {"name": "ops1", "password": "ops1-pass-1",
                                                    "account_uuid": str(other.account.uuid)}, format="json")
    assert response.status_code == 201, response.content
    assert User.objects.get(username="ops1").account == other.account
    assert login("ops1", "ops1-pass-1").status_code == 200
    # a normal account adds users to itself, never to another account
    response = tenant_client.post("/api/v1/users/", {"name": "dev1", "password": "dev1-pass-1"}, format="json")
    assert response.status_code == 201
    assert User.objects.get(username="dev1").account == tenant_user.account
    response = tenant_client.post("/api/v1/users/", {"name": "dev2", "password": "dev2-pass-1",
                                                     "account_uuid": str(other.account.uuid)}, format="json")
    assert response.status_code == 400 and "not found" in response.json()["details"]["account_uuid"][0]
    names = {row["name"] for row in tenant_client.get("/api/v1/users/").json()["results"]}
    assert names == {"tenant-a", "dev1"}
    ops1 = User.objects.get(username="ops1")
    assert tenant_client.get(f"/api/v1/users/{ops1.uuid}/").status_code == 404


def test_users_are_queried_by_the_name_the_api_shows_and_password_is_never_a_field(admin_client):
    for name in ("ops1", "ops2"):
        assert admin_client.post("/api/v1/users/", {"name": name, "password": f"{name}-pass-1"},
                                 format="json").status_code == 201
    rows = admin_client.get("/api/v1/users/?q=name=ops2").json()["results"]
    assert [row["name"] for row in rows] == ["ops2"]
    assert [r["name"] for r in admin_client.get("/api/v1/users/?q=name~=ops%&ordering=-name").json()["results"]] \
        == ["ops2", "ops1"]
    response = admin_client.get("/api/v1/users/?fields=name,password")
    assert response.status_code == 400 and response.json()["details"]["field"] == "password"
    assert "password" not in response.json()["details"]["fields"]


def test_account_delete_runs_as_a_job_and_removes_its_users(admin_client, django_capture_on_commit_callbacks):
    victim = make_account("victim")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"/api/v1/accounts/{victim.account.uuid}/")
    assert response.status_code == 202
    assert not Account.objects.filter(name="victim").exists()
    assert not User.objects.filter(username="victim").exists()


def test_reset_admin_password_command(monkeypatch, capsys):
    call_command("ensure_admin")
    first = capsys.readouterr().out
    assert "password:" in first  # generated and printed once
    old_key = ApiToken.issue(User.objects.get(username="admin"))
    call_command("ensure_admin")
    assert "password:" not in capsys.readouterr().out  # not again
    call_command("reset_admin_password", password="brand-new-pass")
    assert login("admin", "brand-new-pass").status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert client.get("/api/v1/zones/").status_code == 401  # old tokens revoked
    monkeypatch.setenv("CLOUDPORTAL_ADMIN_PASSWORD", "from-env-pass")
    call_command("reset_admin_password")
    assert login("admin", "from-env-pass").status_code == 200
    assert User.objects.get(username="admin").account.type == "SystemAdmin"


def test_admin_password_from_environment(monkeypatch):
    monkeypatch.setenv("CLOUDPORTAL_ADMIN_PASSWORD", "env-admin-pass")
    call_command("ensure_admin")
    assert login("admin", "env-admin-pass").status_code == 200


def test_client_for_helper_is_admin_only_when_asked():
    assert client_for(make_account("plain")).post("/api/v1/zones/", {"name": "z"}, format="json").status_code == 403

"""Failed logins are throttled per user name and per client address (apps.accounts.throttle)."""
import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.core.models import AuditLog
from tests.conftest import make_account

pytestmark = pytest.mark.django_db

PASSWORD = "right-pass-1"


def login(username, password, address="10.1.1.1", **extra):
    return APIClient().post("/api/v1/auth/login/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address, **extra)


def test_ten_failures_in_a_minute_refuse_even_the_right_password_with_429_and_retry_after():
    make_account("alice", password=PASSWORD)
    for _ in range(10):
        assert login("alice", "wrong-guess").status_code == 401
    response = login("alice", PASSWORD)
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == "THROTTLED"
    assert "too many failed logins" in body["message"]
    assert 0 < int(response["Retry-After"]) <= 60
    assert "token" not in body
    rows = list(AuditLog.objects.filter(action="auth.login", user_name="alice").order_by("id"))
    assert [r.status_code for r in rows] == [401] * 10 + [429]
    assert rows[-1].result == "failure" and rows[-1].error_code == "THROTTLED"
    assert login("alice", PASSWORD, address="10.9.9.9").status_code == 429  # per name, from anywhere


def test_failures_from_one_address_refuse_it_for_every_user_name():
    make_account("bob", password=PASSWORD)
    for index in range(10):
        assert login(f"nobody-{index}", "guess").status_code == 401
    assert login("bob", PASSWORD).status_code == 429
    assert login("bob", PASSWORD, address="10.2.2.2").status_code == 200


def test_an_address_given_in_x_forwarded_for_is_trusted_only_behind_configured_proxies(settings):
    make_account("carol", password=PASSWORD)
    for index in range(10):  # a client naming a new address per guess is still one address
        assert login(f"x-{index}", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{index}").status_code == 401
    assert login("carol", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429
    settings.TRUSTED_PROXY_COUNT = 1  # behind one proxy: the client is what the proxy appended last
    assert login("carol", PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 192.0.2.200").status_code == 200


def test_a_successful_login_is_not_delayed_does_not_count_and_clears_its_name():
    make_account("dave", password=PASSWORD)
    started = time.perf_counter()
    for _ in range(30):
        assert login("dave", PASSWORD).status_code == 200
    assert time.perf_counter() - started < 15  # no back-off on successes (30 logins, no sleeps)
    for index in range(9):
        assert login("dave", "wrong", address=f"10.3.0.{index}").status_code == 401
    assert login("dave", PASSWORD, address="10.3.1.1").status_code == 200
    for index in range(9):  # counted afresh after the success
        assert login("dave", "wrong", address=f"10.4.0.{index}").status_code == 401
    assert login("dave", PASSWORD, address="10.4.1.1").status_code == 200


def test_the_refusal_ends_with_its_window(settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_FAILURE_WINDOW = 1
    make_account("erin", password=PASSWORD)
    assert [login("erin", "wrong").status_code for _ in range(3)] == [401, 401, 429]
    time.sleep(1.2)
    assert login("erin", PASSWORD).status_code == 200


def test_the_browsable_api_login_page_is_throttled_and_audited():
    make_account("frank", password=PASSWORD)
    client = Client(REMOTE_ADDR="10.5.5.5")
    for _ in range(10):
        page = client.post("/api-auth/login/", {"username": "frank", "password": "wrong"})
        assert page.status_code == 200 and "frank" in page.content.decode()
    page = client.post("/api-auth/login/", {"username": "frank", "password": PASSWORD})
    assert page.status_code == 429 and 0 < int(page["Retry-After"]) <= 60
    assert "Too many failed logins" in page.content.decode()
    assert "_auth_user_id" not in client.session
    rows = list(AuditLog.objects.filter(action="auth.login", path="/api-auth/login/").order_by("id"))
    assert [(r.status_code, r.user_name) for r in rows] == [(401, "frank")] * 10 + [(429, "frank")]
    assert rows[-1].error_code == "THROTTLED" and rows[0].client_ip == "10.5.5.5"
    # another user from another address still logs in there
    other = Client(REMOTE_ADDR="10.6.6.6")
    make_account("grace", password=PASSWORD)
    assert other.post("/api-auth/login/", {"username": "grace", "password": PASSWORD}).status_code == 302


def test_the_admin_site_login_page_is_throttled_too():
    make_account("admin2", admin=True, password=PASSWORD)
    client = Client(REMOTE_ADDR="10.7.7.7")
    for _ in range(10):
        client.post("/admin/login/", {"username": "admin2", "password": "wrong"})
    page = client.post("/admin/login/", {"username": "admin2", "password": PASSWORD})
    assert "Too many failed logins" in page.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.filter(path="/admin/login/", status_code=429).count() == 1

"""API tokens are trusted for at most a second after they were read (apps.accounts.authentication):
a revoked token stops working at once in the process that revoked it, and within that second
everywhere else."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.authentication import recent_tokens
from apps.accounts.models import ApiToken, User
from tests.conftest import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(recent_tokens, "clock", lambda: now[0])
    return now


def token_client(user):
    key = ApiToken.issue(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def token_reads(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/zones/").status_code == 200
    return sum("accounts_apitoken" in q["sql"] and q["sql"].startswith("SELECT") for q in queries.captured_queries)


def test_a_token_used_again_within_a_second_is_not_read_again(clock):
    client, _ = token_client(make_account("carol"))
    assert token_reads(client) == 1
    clock[0] += 0.5
    assert token_reads(client) == 0
    clock[0] += 0.6  # more than a second after it was read
    assert token_reads(client) == 1


def test_a_token_revoked_by_logout_stops_working_at_once(clock):
    client, _ = token_client(make_account("dave"))
    assert client.get("/api/v1/zones/").status_code == 200
    assert client.post("/api/v1/auth/logout/").status_code == 204
    response = client.get("/api/v1/zones/")
    assert response.status_code == 401 and response.json()["code"] == "AUTHENTICATION_FAILED"


def test_a_token_deleted_by_another_process_stops_working_within_a_second(clock):
    client, key = token_client(make_account("erin"))
    assert client.get("/api/v1/zones/").status_code == 200
    with connection.cursor() as cursor:  # another process: no signal reaches this one
        cursor.execute("DELETE FROM accounts_apitoken WHERE id = %s", [ApiToken.lookup(key).pk])
    clock[0] += 0.9
    assert client.get("/api/v1/zones/").status_code == 200  # the second it may still be trusted
    clock[0] += 0.2
    assert client.get("/api/v1/zones/").status_code == 401


def test_a_deactivated_user_or_deleted_token_is_refused_at_once_in_this_process(clock):
    user = make_account("frank")
    client, key = token_client(user)
    assert client.get("/api/v1/zones/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/api/v1/zones/").status_code == 401
    other, key = token_client(make_account("gina"))
    assert other.get("/api/v1/zones/").status_code == 200
    ApiToken.objects.filter(pk=ApiToken.lookup(key).pk).delete()
    assert other.get("/api/v1/zones/").status_code == 401


def test_a_user_deactivated_in_bulk_is_refused_after_a_second(clock):
    user = make_account("hana")
    client, _ = token_client(user)
    assert client.get("/api/v1/zones/").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)  # no signal, like another process
    clock[0] += 1.0
    assert client.get("/api/v1/zones/").status_code == 401


def test_the_cache_can_be_turned_off(clock, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    client, _ = token_client(make_account("ivan"))
    assert token_reads(client) == 1
    assert token_reads(client) == 1


def test_each_request_gets_its_own_copy_of_the_user_and_account(clock):
    client, key = token_client(make_account("judy"))
    assert client.get("/api/v1/zones/").status_code == 200
    from apps.accounts.authentication import TokenAuthentication

    first, _ = TokenAuthentication().authenticate_credentials(key)
    second, _ = TokenAuthentication().authenticate_credentials(key)
    assert first is not second and first.account is not second.account
    assert first.pk == second.pk and first.account.pk == second.account.pk
    first.account.name = "changed"
    assert TokenAuthentication().authenticate_credentials(key)[0].account.name == "judy"

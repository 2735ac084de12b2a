"""Errors the API maps to its one error shape."""
import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def _failing_list(error):
    def list_(self, request, *args, **kwargs):
        raise error
    return list_


def test_a_database_that_is_unreachable_or_busy_is_a_503_with_retry_after(admin_client, monkeypatch):
    from apps.infra.views import ZoneViewSet

    monkeypatch.setattr(ZoneViewSet, "list", _failing_list(OperationalError(1040, "Too many connections")))
    response = admin_client.get("/api/v1/zones/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert "Too many" not in response.content.decode()  # no driver text, no traceback


def test_another_database_error_is_still_an_internal_error_without_a_traceback(admin_client, monkeypatch):
    from apps.infra.views import ZoneViewSet

    monkeypatch.setattr(ZoneViewSet, "list", _failing_list(OperationalError(1054, "Unknown column 'x'")))
    response = admin_client.get("/api/v1/zones/")
    assert response.status_code == 500
    assert response.json()["code"] == "INTERNAL_ERROR"
    assert "Unknown column" not in response.content.decode()

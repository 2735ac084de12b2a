"""A list page (QueryViewSet.list): rendered by a kept serializer, it leaves nothing of its rows for
the garbage collector; dates are answered in the portal's time zone."""
import gc

import pytest

from apps.core.models import Job
from apps.infra.models import Zone

pytestmark = pytest.mark.django_db


def garbage_after(action):
    """What ``action`` leaves in reference cycles: every object the collector finds unreachable."""
    gc.collect()
    gc.disable()
    try:
        action()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.mark.parametrize("url, model", [("/api/v1/jobs/", Job), ("/api/v1/zones/", Zone)])
def test_a_list_page_frees_its_rows_without_the_garbage_collector(admin_client, admin_user, url, model):
    # rows a page leaves in cycles pile up until a full pass of the collector, a stall of
    # milliseconds in whatever request runs then
    for i in range(5):
        Zone.objects.create(name=f"z{i}")
        Job.objects.create(flow="test", action="create-vm", account=admin_user.account, user=admin_user)

    def page():
        response = admin_client.get(url, {"limit": 5})
        assert response.status_code == 200 and len(response.json()["results"]) == 5

    page()  # the first request imports and builds what later ones reuse
    left = [type(o).__name__ for o in garbage_after(page) if isinstance(o, model)]
    assert left == []


def test_dates_are_answered_in_the_portal_s_time_zone_whatever_zone_is_active(admin_client, admin_user):
    from datetime import datetime, timezone as dt_timezone

    from django.utils import timezone

    job = Job.objects.create(flow="test", action="create-vm", account=admin_user.account, user=admin_user)
    Job.objects.filter(pk=job.pk).update(created_at=datetime(2024, 1, 1, 12, tzinfo=dt_timezone.utc))
    with timezone.override("Europe/Paris"):
        listed = admin_client.get("/api/v1/jobs/", {"q": f"uuid={job.uuid}"}).json()["results"][0]
        shown = admin_client.get(f"/api/v1/jobs/{job.uuid}/").json()
    assert listed["created_at"] == shown["created_at"] == "2024-01-01T12:00:00Z"


@pytest.mark.parametrize("url", ["/api/v1/jobs/", "/api/v1/audit-logs/"])
def test_jobs_and_audit_logs_pages_read_only_what_they_show_and_show_what_each_row_s_page_does(
        admin_client, admin_user, tenant_client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Job.objects.create(flow="test", action="create-vm", account=admin_user.account, user=admin_user,
                       steps=[{"name": "A", "state": "succeeded"}], result={"ok": True}, args={"x": 1})
    Job.objects.create(flow="test", action="reap")  # no account
    tenant_client.post("/api/v1/zones/", {"name": "refused"}, format="json")  # an audit row of a 403
    admin_client.post("/api/v1/zones/", {"name": "z"}, format="json")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url, {"limit": 100}).json()["results"]
    rows_sql = [q["sql"] for q in queries.captured_queries if " IN (" in q["sql"]][-1]
    # the account's name, type and dates, a job's lease and worker: none of them is shown
    for column in ("`name`", '"name"', "lease_expires_at", "worker", "`type`", '"type"'):
        assert column not in rows_sql, column
    assert len(page) >= 2
    for row in page:
        assert row == admin_client.get(f"{url}{row['uuid']}/").json()


def test_what_a_list_serializer_shows_does_not_depend_on_the_instance():
    # list pages render rows with a serializer made without an instance (represent_many), where a
    # ListSerializer's child was made with the page: both must show the same fields
    from django.urls import get_resolver

    from apps.core.api.viewsets import QueryViewSet

    get_resolver().url_patterns  # noqa: B018 - imports every viewset
    viewsets, todo = set(), [QueryViewSet]
    while todo:
        for sub in todo.pop().__subclasses__():
            viewsets.add(sub)
            todo.append(sub)
    classes = {v.serializer_class for v in viewsets if getattr(v, "serializer_class", None)}
    assert len(classes) > 10
    for cls in classes:
        def shown(serializer):
            return {name for name, field in serializer.fields.items() if not field.write_only}
        assert shown(cls(context={})) == shown(cls([], many=True, context={}).child), cls

"""What the live console is served (tests/ui/test_live.py drives it in Chromium): every list row
and detail page says what /ws/events/ announces about it and where to fetch it again, the rows
endpoint answers some rows as the list shows them (the API's, so another account's never), and
the task panel comes with every page, the account's recent jobs already in it."""
import re

import pytest

from apps.core.flows import execute_job, start_job
from apps.core.models import Job
from apps.core.testing import make_account
from apps.infra.models import Zone
from apps.storage.models import Image
from tests.core import flows_for_tests as flows
from tests.ui.pages import browser

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_dispatch(monkeypatch):
    """Jobs run when the test says (execute_job)."""
    monkeypatch.setattr("apps.core.flows.jobs.dispatch", lambda job_uuid: None)


def rows_of(html):
    return re.findall(r'<tr id="row-([0-9a-f-]+)" data-uuid="\1" data-live-uuid="\1" data-live-kind="(\w+)" '
                      r'data-live-src="([^"]+)"', html)


def test_every_list_row_and_detail_page_says_what_to_follow_and_where_to_fetch_it():
    admin = make_account("live-admin", admin=True)
    zones = [Zone.objects.create(name=f"z{i}") for i in range(3)]
    client = browser(admin)
    listed = client.get("/ui/zones/").content.decode()
    assert sorted(rows_of(listed)) == sorted((str(z.uuid), "resource", "/ui/zones/rows/") for z in zones)
    detail = client.get(f"/ui/zones/{zones[0].uuid}/").content.decode()
    assert (f'<div id="live-detail" data-live-uuid="{zones[0].uuid}" data-live-kind="resource" '
            f'data-live-src="/ui/zones/{zones[0].uuid}/" data-live-jobs>') in detail
    # fetched again when the object is gone (or not this user's): nothing, where a browser gets a 404
    gone = zones.pop()
    gone.delete()
    assert client.get(f"/ui/zones/{gone.uuid}/").status_code == 404
    live = client.get(f"/ui/zones/{gone.uuid}/", HTTP_X_LIVE_UPDATE="1")
    assert live.status_code == 200 and live.content == b""
    job = start_job(flows.NOOP, args={}, user=admin)
    assert rows_of(client.get("/ui/jobs/").content.decode()) == [(str(job.uuid), "job", "/ui/jobs/rows/")]
    assert f'data-live-uuid="{job.uuid}" data-live-kind="job"' in client.get(f"/ui/jobs/{job.uuid}/").content.decode()


def test_the_rows_endpoint_answers_the_rows_asked_as_the_list_shows_them_and_only_the_users():
    tenant, other = make_account("tenant"), make_account("other")
    mine = [Image.objects.create(name=f"mine-{i}", account=tenant.account, url="http://x/i.qcow2") for i in range(3)]
    theirs = Image.objects.create(name="theirs", account=other.account, url="http://x/i.qcow2")
    client = browser(tenant)
    listed = client.get("/ui/images/").content.decode()
    asked = [mine[0].uuid, mine[2].uuid, theirs.uuid, "not-a-uuid"]
    rows = client.get("/ui/images/rows/", {"uuid": asked}).content.decode()
    assert [uuid for uuid, _, _ in rows_of(rows)] == sorted([str(mine[0].uuid), str(mine[2].uuid)],
                                                            key=lambda u: listed.index(u))
    assert "theirs" not in rows and "mine-1" not in rows
    for image in (mine[0], mine[2]):   # the very row the list has
        row = re.search(rf'<tr id="row-{image.uuid}".*?</tr>', rows, re.S).group(0)
        assert row in listed
    Image.objects.filter(pk=mine[0].pk).update(state="Disabled")
    row = re.search(rf'<tr id="row-{mine[0].uuid}".*?</tr>', client.get(
        "/ui/images/rows/", {"uuid": mine[0].uuid}).content.decode(), re.S).group(0)
    # the state's cell is found by its field (live.js shows a new state there at once)
    assert '<td data-field="state"><span class="badge bg-secondary-lt">Disabled</span>' in row
    assert client.get("/ui/images/rows/").content.decode().strip() == ""
    assert browser(other).get("/ui/images/rows/", {"uuid": mine[0].uuid}).content.decode().strip() == ""


def test_the_task_panel_comes_with_every_page_with_the_accounts_recent_jobs():
    admin, tenant = make_account("live-admin", admin=True), make_account("tenant")
    done = start_job(flows.NOOP, args={}, user=tenant)
    failed = start_job(flows.FIVE_STEPS, args={"fail_at": 1}, user=tenant)
    theirs = start_job(flows.NOOP, args={}, user=admin)
    for job in (done, failed):
        execute_job(job.uuid)
    assert Job.objects.get(pk=failed.pk).state == "failed"
    for page in ("/ui/", "/ui/images/", f"/ui/jobs/{done.uuid}/"):
        html = browser(tenant).get(page).content.decode()
        panel = re.search(r'<section[^>]*id="task-panel".*?</section>', html, re.S).group(0)
        assert f'data-account="{tenant.account.uuid}"' in panel
        shown = re.findall(r'<tr id="task-([0-9a-f-]+)"', panel)
        assert shown == [str(failed.uuid), str(done.uuid)], page   # the newest first; not another account's
        row = re.search(rf'<tr id="task-{failed.uuid}".*?</tr>', panel, re.S).group(0)
        assert 'data-state="failed"' in row and "task-failed" in row
        assert '<span data-slot="step" class="text-secondary">step1</span>' in row
        assert '<span data-slot="error" class="text-danger">step 1 failed on purpose</span>' in row
        assert f'href="/ui/jobs/{failed.uuid}/"' in row
        assert str(theirs.uuid) not in panel
        assert '<template id="task-template">' in panel and 'id="task-config"' in panel
    # a fragment htmx asks for has no panel (nor its query)
    fragment = browser(tenant).get("/ui/images/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert "task-panel" not in fragment.content.decode()


def test_the_dashboard_lists_the_failed_jobs():
    admin = make_account("live-admin", admin=True)
    failed = start_job(flows.FIVE_STEPS, args={"fail_at": 0}, user=admin)
    execute_job(failed.uuid)
    html = browser(admin).get("/ui/").content.decode()
    assert str(failed.uuid) in re.search(r'id="failed-jobs".*?</table>', html, re.S).group(0)

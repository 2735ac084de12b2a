"""The console live, in Chromium (Playwright) on a real web server and real workers: jobs started
through the API appear in the task panel at once and follow their steps to the end (a failed one
shows its error and the step that failed), an open list page changes in place when a
resource changes (and its first page meets a row made later), the dashboard follows its hosts and
the account's jobs, without a reload. Skipped without Chromium or Playwright."""
import json
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.accounts.models import ApiToken
from apps.core.flows import start_job
from apps.core.testing import make_account
from apps.infra.models import HostStatus, Zone
from apps.storage.models import BackupStorage
from tests.console.helpers import make_host
from tests.core import flows_for_tests as flows
from tests.ui.test_browser import PASSWORD, chromium  # noqa: F401  (the module's browser)
from tests.webserver import WebServer

TIMEOUT = 20_000   # ms: a job runs on a worker, its events go through Redis (or the database relay)


@pytest.fixture
def portal(celery_workers):
    """The web server as `make run` starts it, sending its jobs to the test's workers."""
    server = WebServer(env={"CELERY_TASK_DEFAULT_QUEUE": celery_workers.queue}).start()
    try:
        yield server.url
    finally:
        server.stop()


def api(portal, token, method, path):
    request = urllib.request.Request(portal + path, method=method, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def open_page(page, url):
    """Open ``url`` and wait until live.js has subscribed to what it shows."""
    page.goto(url)
    page.wait_for_selector('body[data-live="ready"]', state="attached", timeout=TIMEOUT)


def log_in(chromium, portal, user):  # noqa: F811
    hasher = PBKDF2PasswordHasher()   # the web server knows only the production hashers
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(portal + "/ui/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(portal + "/ui/")
    return context, page, errors


def test_jobs_appear_in_the_task_panel_and_a_list_follows_its_rows_without_a_reload(chromium, portal):  # noqa: F811
    admin = make_account("live-admin", admin=True)
    token = ApiToken.issue(admin)
    kept, disabled, deleted, watched = (Zone.objects.create(name=name)
                                        for name in ("kept", "to-disable", "to-delete", "watched"))
    context, page, errors = log_in(chromium, portal, admin)

    open_page(page, portal + "/ui/zones/")
    assert page.locator(f'#rows tr[data-live-uuid="{disabled.uuid}"]').count() == 1
    assert page.is_visible("#tasks-empty")
    page.evaluate("window.notReloaded = true")

    # a resource changed through the API: its row changes in place
    status, _ = api(portal, token, "POST", f"/api/v1/zones/{disabled.uuid}/disable/")
    assert status == 200
    page.wait_for_function(f"""document.querySelector('#row-{disabled.uuid}').textContent.includes('Disabled')""",
                           timeout=TIMEOUT)
    assert "Enabled" in page.text_content(f"#row-{kept.uuid}")

    # a job started through the API: in the task panel at once, then its steps to the end; the
    # zone it deleted fades from the list
    status, answer = api(portal, token, "DELETE", f"/api/v1/zones/{deleted.uuid}/")
    assert status == 202
    job = answer["job"]
    row = f"#task-{job['uuid']}"
    page.wait_for_selector(row, timeout=TIMEOUT)
    assert page.text_content(f"{row} [data-slot=action]") == job["action"]
    page.wait_for_function(f"document.querySelector('{row}').dataset.state === 'succeeded'", timeout=TIMEOUT)
    assert page.text_content(f"{row} [data-slot=state]") == "succeeded"
    assert page.get_attribute(f"{row} [data-slot=progress]", "aria-valuenow") == "100"
    page.wait_for_selector(f"#row-{deleted.uuid}.live-gone", timeout=TIMEOUT)
    assert page.get_attribute(f"{row} [data-slot=resource] a", "href") == f"/ui/zones/{deleted.uuid}/"

    # a job that fails: its error and the step that failed
    failing = start_job(flows.FIVE_STEPS, args={"fail_at": 3}, user=admin)
    failed = f"#task-{failing.uuid}"
    page.wait_for_function(f"(document.querySelector('{failed}') || {{dataset: {{}}}}).dataset.state === 'failed'",
                           timeout=TIMEOUT)
    assert page.text_content(f"{failed} [data-slot=step]") == "step3"
    assert page.text_content(f"{failed} [data-slot=error]") == "step 3 failed on purpose"
    assert page.text_content(f"{failed} [data-slot=state]") == "failed"
    # the newest first
    assert page.eval_on_selector_all("#tasks tr.task-row", "rows => rows.map(r => r.dataset.job)")[:2] == [
        str(failing.uuid), job["uuid"]]
    assert page.evaluate("window.notReloaded") is True

    # a click opens the job's page, which shows what the panel showed
    page.click(f"{failed} td.task-step")
    page.wait_for_url(f"{portal}/ui/jobs/{failing.uuid}/")
    assert "step 3 failed on purpose" in page.text_content("#job-error")
    # the panel came with the page this time (server-rendered), the same
    assert page.text_content(f"{failed} [data-slot=step]") == "step3"
    assert page.text_content(f"{failed} [data-slot=state]") == "failed"

    # a detail page follows its object: a zone disabled through the API, a job to its end
    open_page(page, f"{portal}/ui/zones/{kept.uuid}/")
    page.evaluate("window.notReloaded = true")
    api(portal, token, "POST", f"/api/v1/zones/{kept.uuid}/disable/")
    page.wait_for_function("document.querySelector('#fields').textContent.includes('Disabled')", timeout=TIMEOUT)
    open_page(page, f"{portal}/ui/zones/{watched.uuid}/")   # deleted while its page is open: the page fades
    assert api(portal, token, "DELETE", f"/api/v1/zones/{watched.uuid}/")[0] == 202
    page.wait_for_selector("#live-detail.live-gone", timeout=TIMEOUT)
    holding = start_job(flows.HOLD, args={"sleep": 2}, user=admin)
    open_page(page, f"{portal}/ui/jobs/{holding.uuid}/")
    page.evaluate("window.notReloaded = true")
    assert "succeeded" not in page.text_content("#fields")
    page.wait_for_function("document.querySelector('#fields').textContent.includes('succeeded')", timeout=TIMEOUT)
    assert page.evaluate("window.notReloaded") is True

    # a list's first page meets a row made after it opened, once the job that made it ends
    open_page(page, portal + "/ui/zones/")
    page.evaluate("window.notReloaded = true")
    later = Zone.objects.create(name="made-later")
    start_job(flows.HOLD, resource=later, user=admin)
    page.wait_for_selector(f"#row-{later.uuid}", timeout=TIMEOUT)
    assert page.locator(f"#row-{kept.uuid}").count() == 1 and page.evaluate("window.notReloaded") is True

    # the dashboard follows: a host that goes Disconnected, a count changed when a job ends
    host = make_host("live-1")
    open_page(page, portal + "/ui/")
    page.evaluate("window.notReloaded = true")
    host.status = HostStatus.DISCONNECTED
    host.save(update_fields=["status", "updated_at"])
    page.wait_for_selector(f'#disconnected-hosts tr[data-host="{host.uuid}"]', timeout=TIMEOUT)
    BackupStorage.objects.create(name="live-bs", url="file:///tmp/live-bs")
    start_job(flows.HOLD, user=admin)
    page.wait_for_function("document.querySelector('[data-count=\"Backup storage\"]').textContent.trim() === '1'",
                           timeout=TIMEOUT)
    assert page.evaluate("window.notReloaded") is True
    assert errors == []
    context.close()

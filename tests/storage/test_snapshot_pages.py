"""The console's snapshot pages answer what the API answers: the VM page's "Snapshot" (a name,
then the API's flow), the snapshots listed as a tree on their page and on the volume's, revert and
delete confirmed first."""
import pytest

from apps.compute.models import VmInstance
from apps.core.models import Job
from apps.storage.models import Volume, VolumeSnapshot
from tests.compute.vm_env import Env
from tests.ui.pages import browser, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=1)


def test_snapshot_from_the_vm_page_list_it_as_a_tree_revert_and_delete(env, admin_user):
    page = browser(admin_user)
    uuid, _ = env.create(name="web")
    detail = text(page.get(f"/ui/vm-instances/{uuid}/"))
    assert f"/ui/vm-instances/{uuid}/snapshot/" in detail
    asked = page.get(f"/ui/vm-instances/{uuid}/snapshot/")
    assert asked.status_code == 200 and 'name="name"' in text(asked)
    with env.capture(execute=True):
        done = page.post(f"/ui/vm-instances/{uuid}/snapshot/", {"name": "before-upgrade"})
    job = Job.objects.get(flow="take-volume-snapshots")
    assert done.status_code == 302 and job.state == "succeeded", job.error
    first = VolumeSnapshot.objects.get()
    with env.capture(execute=True):
        page.post(f"/ui/vm-instances/{uuid}/snapshot/", {"name": "second"})
    second = VolumeSnapshot.objects.exclude(pk=first.pk).get()

    listed = text(page.get("/ui/volume-snapshots/"))
    assert "before-upgrade" in listed and "second" in listed and "\u2514" in listed   # the child indented
    root = Volume.objects.get(vm_instance_uuid=uuid)
    volume_page = text(page.get(f"/ui/volumes/{root.uuid}/"))
    assert "before-upgrade" in volume_page

    VmInstance.objects.filter(uuid=uuid).update(state="Stopped", host=None)
    asked = page.get(f"/ui/volume-snapshots/{first.uuid}/revert/")
    assert asked.status_code == 200 and 'id="confirm-form"' in text(asked)
    with env.capture(execute=True):
        assert page.post(f"/ui/volume-snapshots/{first.uuid}/revert/").status_code == 302
    assert Job.objects.get(flow="revert-volume-snapshots").state == "succeeded"
    with env.capture(execute=True):
        assert page.post(f"/ui/volume-snapshots/{second.uuid}/delete/").status_code == 302
    assert list(VolumeSnapshot.objects.values_list("name", flat=True)) == ["before-upgrade"]

    page.post("/i18n/setlang/", {"language": "zh-hans", "next": "/ui/"})
    listed = text(page.get("/ui/volume-snapshots/"))
    assert "云盘快照" in listed and "快照树" in listed


def test_in_chromium_the_vm_pages_snapshot_action_shows_its_job_and_the_tree(
        transactional_db, admin_user, admin_client, sim_agent, tmp_path):
    """The main path in a real browser (Playwright + Chromium, skipped without them): the VM page's
    Snapshot, its form, the job it started (run here: no worker reads the web server's queue), and
    the snapshot on the snapshots page; no JavaScript error on the way."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from apps.core.flows import execute_job
    from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS
    from tests.webserver import WebServer

    import os

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    env = Env(admin_client, None, tmp_path, hosts=1)
    uuid, _ = env.create(name="web-1")
    hasher = PBKDF2PasswordHasher()   # the web server knows only the production hashers
    admin_user.password = hasher.encode("pass-word-1", hasher.salt(), iterations=1000)
    admin_user.save(update_fields=["password"])
    server = WebServer().start()
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        with sync_api.sync_playwright() as playwright:
            browser_ = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser_.new_context(locale="en-US").new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.goto(server.url + "/ui/login/")
            page.fill("#id_username", admin_user.username)
            page.fill("#id_password", "pass-word-1")
            page.click("#login-form button[type=submit]")
            page.wait_for_url(server.url + "/ui/")
            page.goto(f"{server.url}/ui/vm-instances/{uuid}/")
            page.click(f"a[href='/ui/vm-instances/{uuid}/snapshot/']")
            page.fill("#f-name", "before-upgrade")
            page.click("#confirm-form #confirm")
            page.wait_for_url(f"{server.url}/ui/vm-instances/{uuid}/")   # back on the VM, its job listed
            job = Job.objects.get(flow="take-volume-snapshots")
            assert str(job.uuid) in page.content()
            assert execute_job(job.uuid).state == "succeeded"
            page.goto(server.url + "/ui/volume-snapshots/")
            assert "before-upgrade" in page.text_content("#rows")
            browser_.close()
        assert errors == []
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        server.stop()

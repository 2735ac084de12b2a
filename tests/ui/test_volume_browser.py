"""Data volumes in Chromium (Playwright) on a real web server with a real worker and the simulator
agent: a volume made from the volumes page, then attached to a running VM picked by name on the
volume's page; the volume's page and the VM's page show each other. Skipped without Chromium or
Playwright."""
import time

import pytest

from apps.storage.models import Volume
from tests.compute.vm_env import Env
from tests.hostagent.conftest import ADMIN_TOKEN
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.webserver import WebServer
from tests.workers import Workers


@pytest.fixture
def portal(transactional_db, sim_agent):
    env = {"SIM_AGENT_URL": sim_agent.url, "SIM_AGENT_TOKEN": ADMIN_TOKEN}
    workers = Workers(count=1, env=env).start()
    server = None
    try:
        server = WebServer(env={**env, "CELERY_TASK_DEFAULT_QUEUE": workers.queue}).start()
        yield server.url
    finally:
        if server is not None:
            server.stop()
        workers.stop()


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_volume_made_on_its_page_is_attached_to_a_vm_picked_by_name(chromium, portal, admin_user,  # noqa: F811
                                                                      admin_client, tmp_path):
    env = Env(admin_client, None, tmp_path)
    vm_uuid, job = env.create(name="db-1")
    assert job["state"] == "succeeded", job
    tab = Browsing(chromium, portal, admin_user)
    page = tab.goto("/ui/volumes/new/")
    page.fill("#f-name", "data-1")
    page.fill("#f-size", "64")
    page.select_option("#f-size-unit", label="MiB")
    page.click("#save")
    page.wait_for_url("**/ui/volumes/*-*/")
    volume = Volume.objects.get(name="data-1")
    assert volume.size == 64 << 20
    assert wait_until(lambda: Volume.objects.get(pk=volume.pk).busy_job is None)

    tab.goto(f"/ui/volumes/{volume.uuid}/")
    tab.click_to("text=Attach to a VM", f"**/ui/volumes/{volume.uuid}/attach/")
    page.select_option("#f-vm_instance_uuid", label="db-1")
    page.click("#confirm")
    page.wait_for_url(f"**/ui/volumes/{volume.uuid}/")
    assert wait_until(lambda: Volume.objects.get(pk=volume.pk).device_target == "vdb")
    row = Volume.objects.get(pk=volume.pk)
    assert str(row.vm_instance_uuid) == vm_uuid and row.status == "Ready"

    tab.goto(f"/ui/volumes/{volume.uuid}/")
    assert "db-1" in page.text_content("body")
    tab.goto(f"/ui/vm-instances/{vm_uuid}/")
    assert "data-1" in page.text_content("body")
    assert tab.errors == [] and tab.unlabelled == []
    tab.context.close()

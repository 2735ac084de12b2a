"""Clone from a VM's page in Chromium (Playwright), on a real web server with a real Celery worker
and the simulator agent: the Clone form (how many, start), the clone reaching Running, and the
Reinit and Create image actions offered where they belong. Skipped without Chromium or Playwright."""
import re

import pytest

from apps.compute.models import VmInstance
from tests.compute.vm_env import Env
from tests.hostagent.conftest import ADMIN_TOKEN
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.ui.test_journey import act
from tests.webserver import WebServer
from tests.workers import Workers


@pytest.fixture
def portal(transactional_db, sim_agent_process, sim_agent):
    env = {"SIM_AGENT_URL": sim_agent_process.url, "SIM_AGENT_TOKEN": ADMIN_TOKEN}
    workers = Workers(count=1, env=env).start()
    server = None
    try:
        server = WebServer(env={**env, "CELERY_TASK_DEFAULT_QUEUE": workers.queue}).start()
        yield server.url
    finally:
        if server is not None:
            server.stop()
        workers.stop()


def test_a_stopped_vm_is_cloned_from_its_page(chromium, portal, admin_user, admin_client, tmp_path):  # noqa: F811
    env = Env(admin_client, None, tmp_path)
    source, _ = env.create(name="web-src")
    assert env.action(source, "stop")["state"] == "succeeded"
    tab = Browsing(chromium, portal, admin_user)
    try:
        page = tab.goto(f"/ui/vm-instances/{source}/")
        assert page.locator("#actions >> text=Reinit to image").count() == 1
        page = act(tab, "vm-instances", source, "Clone", values={"count": 2})
        tab.look()

        def clones():
            return list(VmInstance.objects.filter(name__startswith="web-src-clone-").order_by("name")
                        .values_list("name", "state"))

        for _ in range(120):
            if [state for _, state in clones()] == ["Running", "Running"]:
                break
            page.wait_for_timeout(500)
        assert clones() == [("web-src-clone-1", "Running"), ("web-src-clone-2", "Running")]
        page = tab.goto("/ui/vm-instances/")
        assert "web-src-clone-2" in page.text_content("#rows")

        volume = env.vm(source)["root_volume_uuid"]
        page = tab.goto(f"/ui/volumes/{volume}/")
        tab.click_to("#actions >> text=Create image", re.compile(rf".*/ui/volumes/{volume}/create-image/$"))
        assert page.locator("#f-name").count() == 1
        tab.look()
        assert tab.errors == [] and tab.unlabelled == []
    finally:
        tab.close()

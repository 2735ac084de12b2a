"""The hybrid cloud's main path in Chromium (Playwright), on a real web server with a real Celery
worker, both pointed at the emulator: add an AccessKey (a wrong secret first, refused as the cloud
says), add cn-hangzhou as a data centre and watch its sync job succeed, create an ECS instance
from the form and see it reach Running live, stop it from its page. The emulator's state is
checked after each step; no page logs a JavaScript error, every input has a label.
Skipped without Chromium or Playwright."""
import re

import pytest

from apps.core.testing import make_account
from apps.hybrid.models import EcsImage
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.network import instance_network
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.ui.test_journey import UUID, act, choose
from tests.webserver import WebServer
from tests.workers import Workers

IMAGE = "aliyun_3_x64_20G_alibase_20240819.vhd"


@pytest.fixture
def hybrid_portal(transactional_db, cloud):
    env = {"ALIBABA_CLOUD_ENDPOINT": cloud.url}
    workers = Workers(count=1, env=env).start()
    server = None
    try:
        server = WebServer(env={**env, "CELERY_TASK_DEFAULT_QUEUE": workers.queue}).start()
        yield server.url
    finally:
        if server is not None:
            server.stop()
        workers.stop()


def test_key_data_centre_sync_and_an_ecs_instance_from_the_console(chromium, hybrid_portal, cloud):  # noqa: F811
    tab = Browsing(chromium, hybrid_portal, make_account("hybrid-admin", admin=True))
    try:
        page = tab.goto("/ui/alibaba-access-keys/")
        tab.click_to("#create", "**/ui/alibaba-access-keys/new/")
        page.fill("#f-name", "demo")
        page.fill("#f-access_key_id", DEMO_KEY_ID)
        page.fill("#f-access_key_secret", "not-the-secret")
        page.click("#save")
        page.wait_for_selector("text=SignatureDoesNotMatch")   # the cloud's word, shown on the form
        tab.look()
        page.fill("#f-access_key_secret", DEMO_KEY_SECRET)
        tab.click_to("#save", re.compile(rf".*/ui/alibaba-access-keys/{UUID}/$"))
        assert DEMO_KEY_ID in page.text_content("#fields") and DEMO_KEY_SECRET not in page.content()

        network = instance_network()   # made in the cloud first: the data centre's sync imports it
        page = tab.goto("/ui/alibaba-data-centers/")
        tab.click_to("#create", "**/ui/alibaba-data-centers/new/")
        page.fill("#f-region_id", "cn-hangzhou")
        choose(page, "#f-access_key_uuid", "demo")
        page.fill("#f-time_zone", "Asia/Shanghai")
        tab.click_to("#save", re.compile(rf".*/ui/jobs/{UUID}/$"))   # its sync job, followed live
        tab.until("document.querySelector('#fields').textContent.includes('succeeded')", what="the sync done")
        page = tab.goto("/ui/alibaba-identity-zones/")
        assert "cn-hangzhou-h" in page.text_content("#rows")

        page = tab.goto("/ui/ecs-instances/")
        tab.click_to("#create", "**/ui/ecs-instances/new/")
        page.fill("#f-name", "web")
        choose(page, "#f-identity_zone_uuid", "cn-hangzhou-h")
        page.fill("#f-instance_type", "ecs.g7.large")
        choose(page, "#f-ecs_image_uuid", EcsImage.objects.get(image_id=IMAGE).name)   # synced with the region
        choose(page, "#f-v_switch_uuid", network["v_switch_id"])   # a vSwitch without a name shows its id
        choose(page, "#f-security_group_uuid", "hybrid-tests")
        tab.click_to("#save", re.compile(rf".*/ui/ecs-instances/{UUID}/$"))
        tab.until("document.querySelector('#fields').textContent.includes('Running')", what="the instance Running")
        [record] = cloud.table("instances").values()
        assert record["InstanceName"] == "web" and record["Status"] == "Running"
        assert record["InstanceId"] in page.text_content("#fields")

        uuid = re.search(UUID, page.url).group(0)
        act(tab, "ecs-instances", uuid, "Stop")
        tab.until("document.querySelector('#fields').textContent.includes('Stopped')", what="the instance Stopped")
        assert cloud.table("instances")[record["InstanceId"]]["Status"] == "Stopped"

        assert tab.errors == [] and tab.unlabelled == []
    finally:
        tab.close()

"""One view (H12) in Chromium (Playwright), on a real web server and Celery worker pointed at the
emulator: an instance made in the cloud and brought in by the data centre's sync is a row of the
console's VM list, marked as a cloud VM with its zone; stopped from its VM page, it is Stopped in
the emulator and the page shows it live. Skipped without Chromium or Playwright."""
import re
import time

from apps.compute.models import VmInstance
from apps.core.testing import client_for, make_account
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.test_browser import hybrid_portal  # noqa: F401 - the web server and worker
from tests.hybrid.test_data_centers import run_in_cloud, settled
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.ui.test_journey import act


def test_a_cloud_instance_in_the_vm_list_stopped_from_its_vm_page(chromium, hybrid_portal, cloud):  # noqa: F811
    admin = make_account("oneview-admin", admin=True)
    api = client_for(admin)
    assert api.post("/api/v1/alibaba-access-keys/", {"name": "demo", "access_key_id": DEMO_KEY_ID,
                                                     "access_key_secret": DEMO_KEY_SECRET},
                    format="json").status_code == 201
    [instance_id], _client = run_in_cloud(cloud, name="from-the-cloud")
    settled(cloud)
    added = api.post("/api/v1/alibaba-data-centers/", {"region_id": "cn-hangzhou"}, format="json")
    assert added.status_code == 202, added.content

    tab = Browsing(chromium, hybrid_portal, admin)
    try:
        deadline = time.monotonic() + 60   # the sync job (eager here, or the worker's)
        while not VmInstance.objects.filter(name="from-the-cloud").exists():
            assert time.monotonic() < deadline, "the sync did not bring the instance in"
            time.sleep(0.2)
        page = tab.goto("/ui/vm-instances/?q=hypervisor_type%3DAlibabaCloud")
        rows = page.text_content("#rows")
        assert "from-the-cloud" in rows and "AlibabaCloud" in rows and "cn-hangzhou-h" in rows
        uuid = re.search(r'/ui/vm-instances/([0-9a-f-]{36})/', page.inner_html("#rows")).group(1)

        page = act(tab, "vm-instances", uuid, "Stop")
        tab.until("document.querySelector('#fields').textContent.includes('Stopped')", what="the VM Stopped")
        assert cloud.table("instances")[instance_id]["Status"] == "Stopped"
        tab.look()
    finally:
        tab.close()

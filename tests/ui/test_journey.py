"""An operator's first day in the console, in Chromium (Playwright), on a real web server with a
real Celery worker and the simulator agent, from an empty portal and through the pages only: log
in; a zone, a cluster, two simulated hosts (the add-host form), backup storage with an image
uploaded from the browser, primary storage, an L2 and an L3 network with an IP range, an
instance offering; three VMs from the wizard (placement checked first) seen reaching Running;
one stopped; a zone's delete showing the API's cascade plan first. Then a real QEMU VM's console
opened from its page in one click (only where libvirtd runs). No page logs a JavaScript error;
every input of every page has a label. Skipped without Chromium or Playwright."""
import re

import pytest

from apps.core.testing import client_for, make_account
from tests.console.conftest import VNC_PASSWORD, libvirt_agent, make_kvm_host, running_domain  # noqa: F401
from tests.console.helpers import make_vm
from tests.hostagent.conftest import ADMIN_TOKEN
from tests.infra.conftest import needs_libvirtd
from tests.storage.conftest import make_qcow2
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.webserver import WebServer
from tests.workers import Workers

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def portal(transactional_db, sim_agent_process):
    """The web server as `make run` starts it and one worker on its queue, both using the
    module's simulator agent for Simulator hosts."""
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


def uuid_in(url):
    return re.search(UUID, url).group(0)


def create(tab, basename, values, selects=None, lands="detail"):
    """Fill ``/ui/<basename>/new/`` (inputs by API name; ``selects`` by option label) and save;
    the uuid of what was made (``lands="job"``: of the job it started)."""
    page = tab.goto(f"/ui/{basename}/")
    tab.click_to("#create", f"**/ui/{basename}/new/")
    for name, label in (selects or {}).items():
        choose(page, f"#f-{name}", label)
    for name, value in values.items():
        page.fill(f"#f-{name}", str(value))
    target = "jobs" if lands == "job" else basename
    tab.click_to("#save", re.compile(rf".*/ui/{target}/{UUID}/$"))
    return uuid_in(page.url)


def act(tab, basename, uuid, label, selects=None, values=None):
    """From the object's page, an action with a form or a confirmation first: fill it, confirm."""
    page = tab.goto(f"/ui/{basename}/{uuid}/")
    tab.click_to(f"#actions >> text={label}", f"**/ui/{basename}/{uuid}/*/")
    for name, option in (selects or {}).items():
        choose(page, f"#f-{name}", option)
    for name, value in (values or {}).items():
        page.fill(f"#f-{name}", str(value))
    tab.click_to("#confirm", f"**/ui/{basename}/{uuid}/")
    assert not page.locator("#messages .alert-danger").count(), page.text_content("#messages")
    return page


def choose(page, select, text):
    """Select the option of ``select`` whose value is ``text`` or whose label starts with it."""
    value = page.eval_on_selector(select, f"""s => ([...s.options].find(o => o.value === {text!r})
        || [...s.options].find(o => o.text.trim().startsWith({text!r})) || {{}}).value""")
    assert value is not None, f"no option {text!r} in {select}"
    page.select_option(select, value)


def rows_showing(text, count):
    """A list page's condition: ``count`` rows whose text includes ``text``."""
    return (f"[...document.querySelectorAll('#rows tbody tr[data-uuid]')]"
            f".filter(r => r.textContent.includes({text!r})).length === {count}")


def test_from_an_empty_portal_to_three_running_vms_through_the_pages(chromium, portal, tmp_path):  # noqa: F811
    admin = make_account("day-one", admin=True)
    tab = Browsing(chromium, portal, admin)
    page = tab.page
    assert page.text_content("h2.page-title") == "Dashboard"

    zone = create(tab, "zones", {"name": "zone-1"})
    create(tab, "clusters", {"name": "sim-cluster"}, {"zone_uuid": "zone-1", "hypervisor_type": "Simulator"})
    for name in ("sim-1", "sim-2"):
        page = tab.goto("/ui/hosts/new/")
        page.select_option("#f-hypervisor_type", "Simulator")
        page.fill("#f-name", name)
        choose(page, "#f-cluster_uuid", "sim-cluster")
        page.fill("#f-cpu_num", "4")
        page.fill("#f-memory_size", "8")   # GiB
        tab.click_to("#save", re.compile(rf".*/ui/jobs/{UUID}/$"))   # the add-host job's page
    tab.goto("/ui/hosts/")
    tab.until(rows_showing("Connected", 2), what="two Connected hosts")

    store = create(tab, "backup-storage", {"name": "store-1", "url": tmp_path / "store"},
                   {"type": "ImageStore"})
    act(tab, "backup-storage", store, "Attach", {"zone_uuid": "zone-1"})
    page = tab.goto("/ui/images/")
    tab.click_to("#upload", "**/ui/images/upload/")
    page.fill("#f-name", "tiny")
    page.set_input_files("#f-file", str(make_qcow2(tmp_path / "tiny.qcow2", "64M")))
    choose(page, "#f-backup_storage_uuids", "store-1")
    tab.click_to("#save", re.compile(rf".*/ui/images/{UUID}/$"))
    tab.until("document.querySelector('#fields').textContent.includes('Ready')", what="the image Ready")

    primary = create(tab, "primary-storage", {"name": "local-1", "url": "/var/lib/cp/ps"},
                     {"type": "LocalStorage", "zone_uuid": "zone-1"})
    act(tab, "primary-storage", primary, "Attach", {"cluster_uuid": "sim-cluster"})
    l2 = create(tab, "l2-networks", {"name": "flat", "physical_interface": "eth0"}, {"zone_uuid": "zone-1"})
    act(tab, "l2-networks", l2, "Attach", {"cluster_uuid": "sim-cluster"})
    l3 = create(tab, "l3-networks", {"name": "flat-l3"}, {"l2_network_uuid": "flat"})
    page = act(tab, "l3-networks", l3, "Add an IP range", values={
        "start_ip": "10.30.0.10", "end_ip": "10.30.0.99", "netmask": "255.255.255.0", "gateway": "10.30.0.1"})
    assert "10.30.0.10" in page.text_content("#fields")
    create(tab, "instance-offerings", {"name": "small", "cpu_num": 1, "memory_size": 512}, {"memory_size-unit": "MiB"})
    # the jobs the attaches started are done before a VM needs them
    tab.goto("/ui/jobs/")
    tab.until("(rows => rows.length >= 5 && rows.every(r => r.textContent.includes('succeeded')))"
              "([...document.querySelectorAll('#rows tbody tr[data-uuid]')])", what="every job succeeded")

    page = tab.goto("/ui/vm-instances/")
    tab.click_to("#create", "**/ui/vm-instances/new/")
    page.fill("#f-name", "web")
    page.fill("#f-count", "3")
    choose(page, "#f-image_uuid", "tiny")
    choose(page, "#f-instance_offering_uuid", "small")
    page.check(f"#l3-{l3}")
    page.click("#check-placement")
    page.wait_for_selector("#placement [data-placement=host]")
    tab.look()
    assert page.text_content("[data-placement=host]").strip() in ("sim-1", "sim-2")
    assert re.fullmatch(r"10\.30\.0\.\d+", page.text_content("[data-placement=ip]"))
    tab.click_to("#save", re.compile(r".*/ui/vm-instances/\?q=uuid"))   # the list of those three VMs
    assert page.locator("#rows tbody tr[data-uuid]").count() == 3
    # Running (patched from the event at once), then the row fetched again shows host and address
    tab.until(f"{rows_showing('Running', 3)} && {rows_showing('10.30.0.', 3)}", what="three Running VMs")
    assert len(set(re.findall(r"10\.30\.0\.\d+", page.text_content("#rows")))) == 3

    first = page.get_attribute("#rows tbody tr[data-uuid] >> nth=0", "data-uuid")
    page = act(tab, "vm-instances", first, "Stop")
    tab.until("document.querySelector('#fields').textContent.includes('Stopped')", what="the VM Stopped")

    # the zone's delete: the plan shown first is the API's dry run, and it holds the delete back
    page = tab.goto(f"/ui/zones/{zone}/")
    tab.click_to("#actions >> text=Delete", f"**/ui/zones/{zone}/delete/")
    plan = client_for(admin).delete(f"/api/v1/zones/{zone}/?dry_run=true").json()

    def shown(where):
        return {(e.get_attribute("data-plan-type"), uuid) for e in page.query_selector_all(f"{where} [data-plan-type]")
                for uuid in re.findall(UUID, e.text_content())}

    assert shown("#plan-deletes") == {(ref["resource_type"], ref["uuid"]) for ref in plan["deletes"]
                                      if ref["uuid"] != zone}
    assert shown("#plan-blockers") == {(ref["resource_type"], ref["uuid"]) for ref in plan["blockers"]}
    assert plan["can_delete"] is False and {ref["resource_type"] for ref in plan["blockers"]} >= {"VmInstance"}
    assert page.is_disabled("#confirm")

    # an empty zone: nothing else goes, nothing blocks; the delete runs and the zone leaves the list
    spare = create(tab, "zones", {"name": "zone-2"})
    page = tab.goto(f"/ui/zones/{spare}/delete/")
    assert client_for(admin).delete(f"/api/v1/zones/{spare}/?dry_run=true").json() == {
        "deletes": [{"resource_type": "Zone", "uuid": spare, "name": "zone-2"}], "blockers": [], "dry_run": True,
        "can_delete": True}
    assert page.locator("#plan [data-plan-type]").count() == 0 and not page.locator("#plan-blockers").count()
    tab.click_to("#confirm", re.compile(rf".*/ui/jobs/{UUID}/$"))   # the delete's job
    tab.goto("/ui/zones/")
    tab.until("!document.querySelector('#rows').textContent.includes('zone-2')", what="zone-2 gone")
    assert "zone-1" in page.text_content("#rows")

    page = tab.goto("/ui/")   # the dashboard, with all of it
    assert page.locator("#counts .card").count() >= 5

    assert tab.errors == []
    assert tab.unlabelled == []
    tab.close()


@pytest.mark.libvirt
@needs_libvirtd
def test_a_real_qemu_vm_s_console_opens_from_its_page_in_one_click(chromium, transactional_db,  # noqa: F811
                                                                     libvirt_agent, running_domain):  # noqa: F811
    """The journey's VMs are simulated: this one is a QEMU domain on this machine's libvirtd behind
    the real agent (tests/console/conftest.py), its portal rows made directly; building a KVM host
    through the add-host form (SSH, agent deployment) is tests/compute/test_vm_kvm.py's, too slow here."""
    from playwright.sync_api import TimeoutError as PageTimeout   # installed: the chromium fixture says so

    admin = make_account("console-admin", admin=True)
    vm = make_vm(admin.account, make_kvm_host(libvirt_agent), uuid=running_domain, name="qemu-1",
                 console_password=VNC_PASSWORD)
    server = WebServer().start()
    tab = Browsing(chromium, server.url, admin)
    try:
        page = tab.goto(f"/ui/vm-instances/{vm.uuid}/")
        assert page.is_enabled("#open-console")
        with tab.context.expect_page() as opened:
            page.click("#open-console")   # its own tab
        console = tab.watch(opened.value)
        try:
            console.wait_for_function("['connected', 'failed', 'disconnected'].includes(document.body.dataset.console)",
                                      timeout=60_000)
        except PageTimeout:   # say where it stood (a loaded libvirtd is slow to answer): the page, the server
            pass
        state = console.evaluate("document.body.dataset.console")
        assert state == "connected", (state, console.text_content("#status"), server.log()[-3000:])
        width, height = console.evaluate("[document.querySelector('#screen canvas').width, "
                                         "document.querySelector('#screen canvas').height]")
        assert width > 0 and height > 0
        console.close()
        assert tab.errors == []
        assert tab.unlabelled == []
    finally:
        tab.close()
        server.stop()

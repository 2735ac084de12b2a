"""A normal account in the console, in Chromium (Playwright) on a real web server: it opens every
page of the sidebar and the rows it lists, its VM wizard and its upload form, and sees its own
VMs and images only, no field the API keeps for admins (a host's address, a storage's path) and
no button or link to something the API would refuse it (creating a zone, attaching storage);
another account's VM is the API's 404. No page logs a JavaScript error; every input has a label.
Skipped without Chromium or Playwright."""
import re

from django.urls import reverse

from apps.core.api.serializers import admin_only_fields
from apps.core.testing import client_for, make_account
from apps.core.ui import site
from apps.core.ui.labels import field_label
from tests.compute.vm_env import Env
from tests.storage.conftest import make_qcow2
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.webserver import WebServer

DETAILS_PER_LIST = 1   # rows opened from each list: one shows that kind of detail page


def started(response):
    assert response.status_code == 202, response.content
    return response.json()["resource"]["uuid"]


def own_image_and_vm(user, env, tmp_path, prefix):
    """An image of the account's own (uploaded) and a VM from it, through the API."""
    client = client_for(user)
    source = make_qcow2(tmp_path / f"{prefix}.qcow2", "64M")
    with open(source, "rb") as upload:
        image = started(client.post("/api/v1/images/upload/", {
            "name": f"{prefix}-image", "file": upload, "backup_storage_uuids": [env.bs_uuid]}, format="multipart"))
    vm = started(client.post("/api/v1/vm-instances/", env.body(name=f"{prefix}-vm", image_uuid=image),
                             format="json"))
    assert client.get(f"/api/v1/vm-instances/{vm}/").json()["state"] == "Running"
    return image, vm


def labels_kept_for_admins():
    """Labels of the fields the API shows admins only, on any page, that no other field shares."""
    kept, shared = set(), set()
    for pages in site.declared:
        serializer = pages.viewset.serializer_class
        hidden = admin_only_fields(serializer)
        for name in serializer().fields:
            (kept if name in hidden else shared).add(str(field_label(name, pages.labels)))
    return kept - shared


def refused_writes(user):
    """The pages whose objects the API refuses this user to create (403), by URL prefix."""
    client = client_for(user)
    refused = set()
    for pages in site.declared:
        basename = pages.api_basename()
        if pages.can_create() and client.post(reverse(f"{basename}-list"), {}, format="json").status_code == 403:
            refused.add(f"/ui/{basename}/")
    return refused


def test_a_normal_account_sees_its_own_and_nothing_kept_for_admins(  # noqa: F811
        chromium, transactional_db, admin_client, sim_agent, tmp_path):  # noqa: F811
    env = Env(admin_client, None, tmp_path)   # the admin's zone, hosts, storage, networks, an image
    admins_vm, _ = env.create(name="admins-vm")
    tenant, other = make_account("tenant-a"), make_account("tenant-b")
    mine = own_image_and_vm(tenant, env, tmp_path, "mine")
    theirs = own_image_and_vm(other, env, tmp_path, "theirs")
    foreign = {"the admin's image": env.image, "the admin's VM": admins_vm, "the other's image": theirs[0],
               "the other's VM": theirs[1], "theirs-": "theirs-", "admins-vm": "admins-vm"}
    admin_values = {str(tmp_path / "bs"), "/var/lib/cp/ps"}   # the storage paths (the hosts' addresses: by label)
    kept_labels = labels_kept_for_admins()
    assert {"URL", "Management IP", "Physical interface"} <= kept_labels
    refused = refused_writes(tenant)
    assert {"/ui/zones/", "/ui/hosts/", "/ui/primary-storage/", "/ui/l3-networks/"} <= refused
    assert "/ui/vm-instances/" not in refused and "/ui/images/" not in refused

    server = WebServer().start()
    tab = Browsing(chromium, server.url, tenant)
    try:
        page = tab.page
        problems = []

        def check():
            html = page.content()
            path = page.url.removeprefix(server.url)
            problems.extend(f"{path}: {what}" for what, value in foreign.items() if value in html)
            problems.extend(f"{path}: the value {value!r}" for value in admin_values if value in html)
            shown = page.eval_on_selector_all("#fields dt, table thead th, form label",
                                              "els => els.map(e => e.textContent.trim())")
            problems.extend(f"{path}: the label {label!r}" for label in set(shown) & kept_labels)
            # nothing that would start a write the API refuses: a New button, a bulk action, an
            # action or edit link or form, on these pages or linked from any page
            links = page.eval_on_selector_all("a[href], form[action], button[formaction]", """els => els.map(e =>
                e.getAttribute('href') || e.getAttribute('action') || e.getAttribute('formaction') || '')""")
            for prefix in refused:
                for link in links:
                    if link.startswith(prefix) and re.match(r"(new/|bulk/|[0-9a-f-]{36}/[a-z-]+/)", link[len(prefix):]):
                        problems.append(f"{path}: a link to {link}")
                buttons = page.locator("#create, #bulk-actions, #actions > *").count()
                if path.split("?")[0].startswith(prefix) and buttons:
                    problems.append(f"{path}: a button of {prefix}")

        check()
        lists = page.eval_on_selector_all("#sidebar a.nav-link[href^='/ui/']",
                                          "els => els.map(e => e.getAttribute('href'))")
        assert "/ui/vm-instances/" in lists and "/ui/zones/" in lists
        for url in lists:
            tab.goto(url)
            check()
            rows = page.eval_on_selector_all("#rows tbody tr[data-uuid] td a[href^='/ui/']",
                                             "els => els.map(e => e.getAttribute('href'))")
            for row in list(dict.fromkeys(rows))[:DETAILS_PER_LIST]:
                tab.goto(row)
                check()

        tab.goto("/ui/vm-instances/")
        assert page.eval_on_selector_all("#rows tbody tr[data-uuid]", "rows => rows.map(r => r.dataset.uuid)") \
            == [mine[1]]
        tab.goto("/ui/images/")
        assert page.eval_on_selector_all("#rows tbody tr[data-uuid]", "rows => rows.map(r => r.dataset.uuid)") \
            == [mine[0]]
        tab.goto(f"/ui/vm-instances/{mine[1]}/")
        assert page.is_visible("#actions >> text=Stop")   # its own VM's actions are there
        for form in ("/ui/vm-instances/new/", "/ui/images/upload/"):
            tab.goto(form)
            check()
        assert page.eval_on_selector_all("#f-backup_storage_uuids option", "os => os.length") >= 1

        assert tab.errors == []
        # a global config is shown, not offered for editing: the API refuses this account's change
        assert client_for(tenant).patch("/api/v1/global-configs/vm/stop.timeout/", {"value": 1},
                                        format="json").status_code == 403
        tab.goto("/ui/global-configs/")
        assert "stop.timeout" in page.text_content("body")
        assert page.locator("form[action^='/ui/global-configs/'], form[hx-post^='/ui/global-configs/']").count() == 0

        # another account's VM, and a zone's delete: the API's 404, the same page as for nothing at all
        # (the browser logs each 404 itself: nothing else may be logged)
        for path in (f"/ui/vm-instances/{theirs[1]}/", f"/ui/zones/{env.zone.uuid}/delete/",
                     "/ui/vm-instances/00000000-0000-4000-8000-000000000000/"):
            response = page.goto(server.url + path)
            assert response.status == 404, path
            assert "Not found" in page.text_content("body")
        assert client_for(tenant).get(f"/api/v1/vm-instances/{theirs[1]}/").status_code == 404

        assert [e for e in tab.errors if "status of 404 (Not Found)" not in e] == []
        assert problems == [], "\n".join(problems)
        assert len(tab.visited) > 20
        assert tab.unlabelled == []
    finally:
        tab.close()
        server.stop()

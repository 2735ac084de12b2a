"""The primary storage form in Chromium (Playwright) on a real web server: an NFS storage made from
the form lands on its page with the mount path the agents will use and its capacity; the list
shows the capacity columns. Skipped without Chromium or Playwright."""
from apps.infra.models import Zone
from apps.storage.models import PrimaryStorage
from tests.ui.test_browser import chromium, portal  # noqa: F401 - fixtures: one browser per module
from tests.ui.test_browser_forms import logged_in


def test_an_nfs_primary_storage_made_in_the_form_shows_its_mount_path_and_capacity(chromium, portal):  # noqa: F811
    zone = Zone.objects.create(name="z-nfs")
    context, page, errors = logged_in(chromium, portal)
    page.goto(portal + "/ui/primary-storage/new/")
    page.fill("#f-name", "filer-1")
    page.select_option("#f-type", "NFS")
    page.fill("#f-url", "nfs://filer.example/exports/ps1")
    page.select_option("#f-zone_uuid", str(zone.uuid))
    page.click("#save")
    page.wait_for_url("**/ui/primary-storage/*-*/")
    ps = PrimaryStorage.objects.get(name="filer-1")
    assert page.url.endswith(f"/ui/primary-storage/{ps.uuid}/")
    body = page.text_content("body")
    assert "NFS" in body and ps.mount_path in body and ps.uuid.hex in ps.mount_path
    assert "Mount path" in body and "Over-provisioning ratio" in body and "Used capacity" in body
    page.goto(portal + "/ui/primary-storage/")
    headers = page.locator("table thead").first.text_content()
    assert "Used capacity" in headers and "Available capacity" in headers
    assert errors == []
    context.close()

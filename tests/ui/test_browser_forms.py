"""Two forms in Chromium (Playwright) on a real web server: an image uploaded by the browser to
the API with its progress bar filling, landing on the image's page with its job; the add-host form
showing only the inputs of the hypervisor chosen, and the login switch between password and key.
Skipped without Chromium or Playwright."""
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.core.models import Job
from apps.core.testing import make_account
from apps.infra.models import Cluster, Zone
from apps.storage.models import BackupStorage, Image
from tests.ui.test_browser import PASSWORD, chromium, portal  # noqa: F401 - fixtures: one browser per module

UPLOAD_SIZE = 24 << 20


def logged_in(chromium, portal):  # noqa: F811
    admin = make_account("forms-admin", admin=True)
    hasher = PBKDF2PasswordHasher()   # the tests hash with MD5; the web server knows only the production hashers
    admin.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    admin.save(update_fields=["password"])
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(portal + "/ui/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(portal + "/ui/")
    return context, page, errors


def test_an_image_uploads_with_its_progress_shown_then_its_page_lists_the_job(chromium, portal, tmp_path):  # noqa: F811
    store = BackupStorage.objects.create(name="store-1", url=str(tmp_path / "store"), status="Connected")
    source = tmp_path / "disk.raw"
    source.write_bytes(b"\1" * UPLOAD_SIZE)
    context, page, errors = logged_in(chromium, portal)
    page.goto(portal + "/ui/images/")
    page.click("#upload")
    page.wait_for_url("**/ui/images/upload/")
    page.fill("#f-name", "uploaded-1")
    page.set_input_files("#f-file", str(source))
    page.select_option("#f-backup_storage_uuids", str(store.uuid))
    # every value the bar takes, kept where the next page can read it
    page.evaluate("""() => { const bar = document.querySelector('#upload-bar'), seen = [];
        new MutationObserver(() => { seen.push(Number(bar.getAttribute('aria-valuenow')));
            sessionStorage.setItem('seen', JSON.stringify(seen)); }).observe(
            bar, {attributes: true, attributeFilter: ['aria-valuenow']}); }""")
    page.click("#save")
    page.wait_for_url("**/ui/images/*-*/")
    image = Image.objects.get(name="uploaded-1")
    assert page.url.endswith(f"/ui/images/{image.uuid}/")
    assert page.text_content("h2.page-title") == "uploaded-1"
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen
    job = Job.objects.get(resource_uuid=image.uuid)
    assert page.locator(f'a[href="/ui/jobs/{job.uuid}/"]').count() >= 1
    assert errors == []
    context.close()


def test_an_empty_upload_gets_the_apis_message_beside_the_file_input(chromium, portal, tmp_path):  # noqa: F811
    BackupStorage.objects.create(name="store-1", url=str(tmp_path / "store"), status="Connected")
    context, page, errors = logged_in(chromium, portal)
    page.goto(portal + "/ui/images/upload/")
    page.fill("#f-name", "no-file")
    page.click("#save")
    page.wait_for_selector('[data-error-for="file"]')
    page.wait_for_selector('[data-error-for="backup_storage_uuids"]')
    assert not Image.objects.filter(name="no-file").exists()
    assert [e for e in errors if "400" not in e] == []   # the browser logs the API's 400 itself
    context.close()


def test_the_host_form_shows_the_inputs_of_the_hypervisor_chosen_and_lands_on_the_job(chromium, portal):  # noqa: F811
    cluster = Cluster.objects.create(name="sim", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    context, page, errors = logged_in(chromium, portal)
    page.goto(portal + "/ui/hosts/new/")

    def visible(name):
        return page.is_visible(f"#f-{name}")

    page.select_option("#f-hypervisor_type", "KVM")
    assert visible("management_ip") and visible("username") and visible("password")
    assert not visible("private_key") and not visible("cpu_num") and not visible("memory_size")
    page.click('label[for="f-ssh_login-private_key"]')
    assert visible("private_key") and not visible("password")
    page.select_option("#f-hypervisor_type", "Simulator")
    assert visible("cpu_num") and visible("memory_size")
    assert not visible("management_ip") and not visible("private_key") and not visible("ssh_login")

    page.fill("#f-name", "sim-1")
    page.select_option("#f-cluster_uuid", str(cluster.uuid))
    page.fill("#f-cpu_num", "8")
    page.fill("#f-memory_size", "16")   # in GiB, the unit shown first; the API is sent bytes
    assert page.eval_on_selector("#f-memory_size-unit", "s => s.selectedOptions[0].text") == "GiB"
    page.click("#save")
    page.wait_for_url("**/ui/jobs/*-*/")
    job = Job.objects.get(resource_uuid=cluster.hosts.get(name="sim-1").uuid)
    assert job.args["memory_size"] == 16 << 30   # what the simulated host is given
    assert page.url.endswith(f"/ui/jobs/{job.uuid}/")
    assert errors == []
    context.close()

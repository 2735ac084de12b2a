"""The VM create wizard in Chromium (Playwright) on a real web server: "Check placement" swaps in
the API's dry run (htmx), a static IP left empty is not sent, nothing fits and a bad value are
shown as the API says them, every input has a label and no page logs a JavaScript error.
Skipped without Chromium or Playwright."""
import re

from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.compute.vm_env import Env
from tests.ui.test_browser import chromium  # noqa: F401  (the module's browser)
from tests.webserver import WebServer

PASSWORD = "pass-word-1"
UNLABELLED = """form => [...form.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)"""


def test_the_wizard_checks_placement_in_place_and_shows_the_api_s_answers(chromium, transactional_db,  # noqa: F811
                                                                          admin_user, admin_client, sim_agent,
                                                                          tmp_path):
    env = Env(admin_client, None, tmp_path)
    uuid, _ = env.create(name="web-1")
    hasher = PBKDF2PasswordHasher()   # the web server knows only the production hashers
    admin_user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    admin_user.save(update_fields=["password"])
    server = WebServer().start()
    context = chromium.new_context(locale="en-US")
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/ui/login/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(server.url + "/ui/")

        page.goto(server.url + "/ui/vm-instances/")
        assert env.vm(uuid)["nics"][0]["ip"] in page.text_content("#rows")
        page.click("text=web-1")
        page.wait_for_selector("#nics")
        page.goto(server.url + "/ui/vm-instances/")
        page.click("#create")
        page.wait_for_selector("#vm-wizard")
        assert page.eval_on_selector("#vm-wizard", UNLABELLED) == []

        page.fill("#f-name", "new-vm")
        page.select_option("#f-image_uuid", env.image)
        page.select_option("#f-instance_offering_uuid", env.offering["uuid"])
        page.check(f"#l3-{env.l3['uuid']}")   # its static IP box left empty: not sent
        page.click("#check-placement")
        page.wait_for_selector("#placement [data-placement=host]")
        assert page.get_attribute("[data-placement=host]", "data-uuid") in env.hosts
        assert re.fullmatch(r"10\.20\.0\.\d+", page.text_content("[data-placement=ip]"))
        assert page.url == server.url + "/ui/vm-instances/new/"   # swapped in place

        page.select_option("#f-instance_offering_uuid", "")
        page.fill("#f-cpu_num", "1")
        page.fill("#f-memory_size", "64")   # GiB
        page.click("#check-placement")
        page.wait_for_selector("#placement-message")
        assert page.text_content("#placement-code") == "NO_HOST_AVAILABLE"
        assert page.text_content("#placement-message").startswith("no host fits the VM")

        page.fill("#f-memory_size", "1")
        page.select_option("#f-memory_size-unit", label="MiB")
        page.click("#check-placement")
        page.wait_for_selector('[data-error-for="memory_size"]')
        assert "greater than or equal to" in page.text_content('[data-error-for="memory_size"]')
        assert page.input_value("#f-name") == "new-vm"   # the form as it was typed
        assert errors == []
    finally:
        context.close()
        server.stop()

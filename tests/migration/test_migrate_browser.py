"""The VM page's Migrate action in Chromium (Playwright) on a real web server: the form's host
picker lists the API's candidates (empty: the allocator chooses); submitting starts the job, which
moves the VM (run here: the web server has no worker). Skipped without Chromium or Playwright."""
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.core.flows import execute_job
from apps.core.models import Job
from tests.compute.vm_env import Env
from tests.migration.test_migrate_sim import shared_vm
from tests.ui.test_browser import chromium  # noqa: F401  (the module's browser)
from tests.webserver import WebServer

PASSWORD = "pass-word-1"


def test_migrate_from_the_vm_page_with_a_host_picked(chromium, transactional_db, admin_user,  # noqa: F811
                                                    admin_client, sim_agent, tmp_path):
    env = Env(admin_client, None, tmp_path)
    uuid = shared_vm(env)
    source = env.vm(uuid)["host_uuid"]
    dest = next(h for h in env.hosts if h != source)
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

        page.goto(f"{server.url}/ui/vm-instances/{uuid}/")
        page.click("#actions >> text=Migrate")
        page.wait_for_selector("#f-host_uuid")
        options = page.eval_on_selector_all("#f-host_uuid option", "os => os.map(o => [o.value, o.textContent])")
        assert options == [["", "—"], [dest, "h1" if dest == env.hosts[1] else "h0"]]
        assert "let the allocator choose" in page.text_content("#confirm-form")
        page.select_option("#f-host_uuid", dest)
        page.click("#confirm")
        page.wait_for_url(f"{server.url}/ui/vm-instances/{uuid}/")
        assert "Migrate: job" in page.text_content("body")
        job = Job.objects.get(resource_uuid=uuid, action="migrate-vm")
        execute_job(job.uuid)
        job.refresh_from_db()
        assert job.state == "succeeded", job.error
        assert env.vm(uuid)["host_uuid"] == dest
        assert errors == []
    finally:
        context.close()
        server.stop()

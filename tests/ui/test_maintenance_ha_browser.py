"""Maintenance and HA in Chromium (Playwright) on a real web server: a VM's HA level set from its
edit form and shown on its page; a host put in maintenance from its page (its VM stopped: local
storage cannot move) and back with "Cancel maintenance". Skipped without Chromium or Playwright."""
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.infra.models import Host
from tests.compute.vm_env import Env
from tests.ui.test_browser import chromium  # noqa: F401  (the module's browser)
from tests.webserver import WebServer

PASSWORD = "pass-word-1"


def test_ha_level_and_host_maintenance_from_the_console(chromium, transactional_db, admin_user,  # noqa: F811
                                                         admin_client, sim_agent, tmp_path, settings):
    env = Env(admin_client, None, tmp_path)
    uuid, _ = env.create(name="web-1")
    host_uuid = env.vm(uuid)["host_uuid"]
    hasher = PBKDF2PasswordHasher()   # the web server knows only the production hashers
    admin_user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    admin_user.save(update_fields=["password"])
    # jobs run in the web server's process; it talks to this module's simulator agent
    server = WebServer(env={"CELERY_TASK_ALWAYS_EAGER": "1", "SIM_AGENT_URL": settings.SIM_AGENT_URL,
                            "SIM_AGENT_TOKEN": settings.SIM_AGENT_TOKEN}).start()
    context = chromium.new_context(locale="en-US")
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/ui/login/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(server.url + "/ui/")

        page.goto(f"{server.url}/ui/vm-instances/{uuid}/edit/")
        page.select_option("select[name=ha_level]", "NeverStop")
        page.click("#save")
        page.wait_for_url(f"{server.url}/ui/vm-instances/{uuid}/")
        assert "NeverStop" in page.text_content("body")
        assert env.vm(uuid)["ha_level"] == "NeverStop"

        page.goto(f"{server.url}/ui/hosts/{host_uuid}/")
        page.click("#actions >> text=\"Maintenance\"")
        page.wait_for_load_state()
        assert Host.objects.get(uuid=host_uuid).state == "Maintenance"
        assert env.vm(uuid)["state"] == "Stopped"   # on local storage: it cannot move, so it stops
        page.goto(f"{server.url}/ui/hosts/{host_uuid}/")
        assert "Maintenance" in page.text_content("body")
        page.click("#actions >> text=Cancel maintenance")
        page.wait_for_load_state()
        assert Host.objects.get(uuid=host_uuid).state == "Enabled"
        assert errors == []
    finally:
        context.close()
        server.stop()

"""Guest setup in Chromium: the create wizard's "Guest setup" step (hostname, video, guest agent)
makes a VM with them, the VM page's "Change password" action runs its job, which fails with
the API's GUEST_AGENT_UNAVAILABLE (a simulated guest has no agent), and, the VM stopped, its
"Cloud-init settings" form changes its user data. Skipped without Chromium."""
import time

from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.compute.models import VmInstance
from apps.core.models import Job
from tests.compute.vm_env import Env
from tests.hostagent.conftest import ADMIN_TOKEN
from tests.ui.test_browser import chromium  # noqa: F401  (the module's browser)
from tests.webserver import WebServer

PASSWORD = "pass-word-1"


def _until(check, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_guest_setup_in_the_wizard_and_a_password_change_from_the_vm_page(chromium, transactional_db,  # noqa: F811
                                                                         admin_user, admin_client, sim_agent,
                                                                         tmp_path):
    env = Env(admin_client, None, tmp_path)
    hasher = PBKDF2PasswordHasher()   # the web server knows only the production hashers
    admin_user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    admin_user.save(update_fields=["password"])
    agent_env = {"SIM_AGENT_URL": sim_agent.url, "SIM_AGENT_TOKEN": ADMIN_TOKEN}
    # the web process runs the jobs it starts itself (eager): no worker to start for one create
    server = WebServer(env={**agent_env, "CELERY_TASK_ALWAYS_EAGER": "1"}).start()
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

        page.goto(server.url + "/ui/vm-instances/new/")
        page.wait_for_selector("#vm-guest")
        page.fill("#f-name", "guest-vm")
        page.select_option("#f-image_uuid", env.image)
        page.select_option("#f-instance_offering_uuid", env.offering["uuid"])
        page.check(f"#l3-{env.l3['uuid']}")
        page.fill("#f-hostname", "guest-1")
        page.select_option("#f-video_type", "qxl")
        page.check("#f-guest_agent")
        page.click("#save")
        page.wait_for_url("**/ui/jobs/*/")
        vm = _until(lambda: VmInstance.objects.filter(name="guest-vm", state="Running").first(), "a Running VM")
        assert (vm.hostname, vm.video_type, vm.guest_agent) == ("guest-1", "qxl", True)
        assert vm.config_drive_path.endswith("cidata.iso")

        page.goto(f"{server.url}/ui/vm-instances/{vm.uuid}/")
        page.click("#actions >> text=Change password")
        page.wait_for_url(f"**/ui/vm-instances/{vm.uuid}/*/")
        page.fill("#f-password", "New-pass-1")
        page.click("#confirm")
        page.wait_for_url(f"**/ui/vm-instances/{vm.uuid}/")
        job = _until(lambda: Job.objects.filter(action="change-vm-password", state="failed").first(), "the job")
        assert job.error["code"] == "GUEST_AGENT_UNAVAILABLE" and "New-pass-1" not in str(job.error)

        # stopped (as its stop job would leave it), its cloud-init settings change; a blank field keeps its value
        VmInstance.objects.filter(pk=vm.pk).update(state="Stopped", host=None)
        page.goto(f"{server.url}/ui/vm-instances/{vm.uuid}/")
        page.click("#actions >> text=Cloud-init settings")
        page.wait_for_url(f"**/ui/vm-instances/{vm.uuid}/*/")
        page.fill("#f-user_data", "#cloud-config\npackages: [git]\n")
        page.click("#confirm")
        page.wait_for_url(f"**/ui/vm-instances/{vm.uuid}/")
        _until(lambda: Job.objects.filter(action="set-vm-cloud-init", state="succeeded").first(), "the job")
        vm.refresh_from_db()
        assert (vm.hostname, vm.user_data) == ("guest-1", "#cloud-config\npackages: [git]\n")
        assert errors == []
    finally:
        context.close()
        server.stop()

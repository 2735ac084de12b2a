"""The VM pages answer what the VM API answers: the create wizard's "Check placement" is the API's
dry run (and its "nothing fits"), a bad value gets the API's message beside its field, a create
and a destroy start the API's flows (a destroy confirmed first), a normal account sees only its
own VMs and the API's 404 for another's, and "Open console" is the API's console token."""
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.compute.models import VmInstance
from apps.core.models import AuditLog, Job
from apps.core.testing import client_for, make_account
from apps.infra.models import Cluster, Host, Zone
from tests.compute.vm_env import GIB, MIB, Env
from tests.ui.pages import browser, field_errors, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


@pytest.fixture
def page(admin_user):
    """The admin's browser (a session, as the console's login gives)."""
    return browser(admin_user)


def form(env, **extra):
    """The wizard's form as a browser posts it (the static IPs as ``static_ips.<l3 uuid>``)."""
    data = {"name": "vm", "description": "", "count": "1", "start": ["false", "true"],
            "instance_offering_uuid": env.offering["uuid"], "image_uuid": env.image,
            "l3_network_uuids": [env.l3["uuid"]]}
    data.update(extra)
    return data


def api_dry_run(env, **extra):
    return env.client.post("/api/v1/vm-instances/?dry_run=true", env.body(**extra), format="json")


def test_check_placement_shows_where_the_api_s_dry_run_puts_the_vm_and_why_nothing_fits(env, page):
    wizard = page.get("/ui/vm-instances/new/")
    assert wizard.status_code == 200
    assert all(f'id="{step}"' in text(wizard) for step in ("vm-image", "vm-size", "vm-networks", "vm-placement"))
    assert env.image in text(wizard) and env.offering["uuid"] in text(wizard) and env.l3["uuid"] in text(wizard)

    pinned = {"host_uuid": env.hosts[1], "static_ips": {env.l3["uuid"]: "10.20.0.33"}}
    api = api_dry_run(env, **pinned).json()["placement"]
    checked = page.post("/ui/vm-instances/new/", form(env, check="placement", host_uuid=env.hosts[1],
                                                       **{f"static_ips.{env.l3['uuid']}": "10.20.0.33"}))
    assert checked.status_code == 200 and 'id="placement"' in text(checked)
    assert re.search(r'data-placement="host" data-uuid="([^"]+)"', text(checked)).group(1) == api["host"]["uuid"]
    assert api["host"]["name"] in text(checked) and api["primary_storage"]["name"] in text(checked)
    assert re.findall(r'data-placement="ip">([^<]+)<', text(checked)) == [nic["ip"] for nic in api["nics"]] \
        == ["10.20.0.33"]

    free = page.post("/ui/vm-instances/new/", form(env, check="placement"))
    assert re.search(r'data-placement="host" data-uuid="([^"]+)"', text(free)).group(1) in env.hosts

    too_big = {"instance_offering_uuid": "", "cpu_num": "1", "memory_size": str(64 * GIB)}
    body = env.body(cpu_num=1, memory_size=64 * GIB)
    del body["instance_offering_uuid"]
    api = env.client.post("/api/v1/vm-instances/?dry_run=true", body, format="json")
    assert api.status_code == 422
    nothing = page.post("/ui/vm-instances/new/", form(env, check="placement", **too_big))
    assert "Nothing fits" in text(nothing)
    assert html.unescape(re.search(r'id="placement-message">([^<]*)<', text(nothing)).group(1)) == api.json()["message"]
    assert re.search(r'id="placement-code">([^<]*)<', text(nothing)).group(1) == api.json()["code"]
    assert not VmInstance.objects.exists()   # a dry run changes nothing

    assert page.post("/i18n/setlang/", {"language": "zh-hans", "next": "/ui/"}).status_code == 302
    chinese = text(page.post("/ui/vm-instances/new/", form(env, check="placement", **too_big)))
    assert "没有合适的位置" in chinese and "检查放置" in chinese and api.json()["message"] in html.unescape(chinese)


def test_a_bad_value_gets_the_api_s_message_beside_its_field(env, page):
    body = env.body(cpu_num=1, memory_size=1000)
    del body["instance_offering_uuid"]
    api = env.client.post("/api/v1/vm-instances/", body, format="json")
    assert api.status_code == 400
    shown = page.post("/ui/vm-instances/new/", form(env, instance_offering_uuid="", cpu_num="1", memory_size="1000"))
    assert shown.status_code == 400 and field_errors(shown, "memory_size") == api.json()["details"]["memory_size"]

    api = env.client.post("/api/v1/vm-instances/", env.body(static_ips={env.l3["uuid"]: "not-an-ip"}), format="json")
    key = f"static_ips.{env.l3['uuid']}"
    shown = page.post("/ui/vm-instances/new/", form(env, **{key: "not-an-ip"}))
    assert field_errors(shown, key) == api.json()["details"]["static_ips"][env.l3["uuid"]]
    assert 'value="not-an-ip"' in text(shown)   # the form comes back as typed

    api = env.client.post("/api/v1/vm-instances/", {k: v for k, v in env.body().items()
                                                    if k != "instance_offering_uuid"}, format="json")
    shown = page.post("/ui/vm-instances/new/", form(env, instance_offering_uuid="", check="placement"))
    assert field_errors(shown, "instance_offering_uuid") == api.json()["details"]["instance_offering_uuid"]
    assert not VmInstance.objects.exists()


def test_the_wizard_creates_through_the_api_one_vm_to_its_job_several_to_their_list(env, page):
    with env.capture(execute=True):
        one = page.post("/ui/vm-instances/new/", form(env, name="web"))
    vm = VmInstance.objects.get(name="web")
    job = Job.objects.get(resource_uuid=vm.uuid)
    assert one.status_code == 302 and one.headers["Location"] == f"/ui/jobs/{job.uuid}/"
    assert job.flow == "create-vm" and job.state == "succeeded"
    vm.refresh_from_db()
    assert vm.state == "Running"
    row = AuditLog.objects.get(resource_uuid=vm.uuid, action="vm-instances.create")
    assert (row.path, row.status_code) == ("/api/v1/vm-instances/", 202)

    with env.capture(execute=True):
        many = page.post("/ui/vm-instances/new/", form(env, name="db", count="2"))
    made = sorted(VmInstance.objects.filter(name__startswith="db-").values_list("name", flat=True))
    assert made == ["db-1", "db-2"] and many.status_code == 302
    listed = page.get(many.headers["Location"])
    assert "db-1" in text(listed) and "db-2" in text(listed) and ">web<" not in text(listed)
    jobs_link = html.unescape(re.search(r'<a href="(/ui/jobs/\?[^"]+)">their jobs</a>', text(listed)).group(1))
    # the list's rows (the task panel under every page shows the account's recent jobs, the first VM's too)
    jobs_page = re.search(r'<div id="results">.*?</form>', text(page.get(jobs_link)), re.S).group(0)
    made_jobs = Job.objects.filter(resource_uuid__in=VmInstance.objects.filter(name__startswith="db-")
                                   .values_list("uuid", flat=True))
    assert len(made_jobs) == 2 and all(str(job.resource_uuid) in jobs_page for job in made_jobs)
    assert str(vm.uuid) not in jobs_page

    listing = page.get("/ui/vm-instances/?q=state%3DRunning")
    vm_row = env.vm(str(vm.uuid))
    host = Host.objects.get(uuid=vm_row["host_uuid"])
    assert vm_row["nics"][0]["ip"] in text(listing) and f">{host.name}<" in text(listing)
    assert "512 MiB" in text(listing)
    by_ip = text(page.get("/ui/vm-instances/", {"q": f"nics.ip={vm_row['nics'][0]['ip']}"}))
    assert ">web<" in by_ip and "db-1" not in by_ip   # the API's q= joins


def test_a_normal_account_sees_only_its_own_vms_and_the_api_s_404_for_another_s(db):
    mine, theirs = make_account("tenant-a"), make_account("tenant-b")
    own = VmInstance.objects.create(name="my-vm", account=mine.account, cpu_num=1, memory_size=512 * MIB,
                                    state="Stopped")
    other = VmInstance.objects.create(name="their-vm", account=theirs.account, cpu_num=1, memory_size=512 * MIB,
                                      state="Stopped")
    client = browser(mine)
    listing = text(client.get("/ui/vm-instances/"))
    assert "my-vm" in listing and "their-vm" not in listing
    assert client.get(f"/ui/vm-instances/{own.uuid}/").status_code == 200
    assert client_for(mine).get(f"/api/v1/vm-instances/{other.uuid}/").status_code == 404
    for path in (f"/ui/vm-instances/{other.uuid}/", f"/ui/vm-instances/{other.uuid}/delete/",
                 f"/ui/vm-instances/{other.uuid}/edit/"):
        assert client.get(path).status_code == 404
    renamed = client.post(f"/ui/vm-instances/{own.uuid}/edit/", {"name": "my-web", "description": ""})
    assert renamed.status_code == 302 and client_for(mine).get(f"/api/v1/vm-instances/{own.uuid}/").json()["name"] \
        == "my-web"
    assert client.post(f"/ui/vm-instances/{other.uuid}/edit/", {"name": "mine-now"}).status_code == 404
    for path in (f"/ui/vm-instances/{other.uuid}/start/", f"/ui/vm-instances/{other.uuid}/console/"):
        assert client.post(path).status_code == 404
    assert VmInstance.objects.get(pk=other.pk).state == "Stopped"
    assert not Job.objects.exists()


def test_destroy_is_confirmed_first_and_runs_the_api_s_destroy_flow(env, page):
    uuid, _ = env.create()
    detail = text(page.get(f"/ui/vm-instances/{uuid}/"))
    assert f"/ui/vm-instances/{uuid}/stop/" in detail and f"/ui/vm-instances/{uuid}/delete/" in detail
    assert f"/ui/vm-instances/{uuid}/start/" not in detail and f"/ui/vm-instances/{uuid}/recover/" not in detail
    assert 'id="nics"' in detail and env.vm(uuid)["nics"][0]["ip"] in detail

    asked = page.get(f"/ui/vm-instances/{uuid}/delete/")
    assert asked.status_code == 200 and 'id="confirm-form"' in text(asked)
    assert env.vm(uuid)["state"] == "Running" and not Job.objects.filter(resource_uuid=uuid, flow="destroy-vm")

    with env.capture(execute=True):
        done = page.post(f"/ui/vm-instances/{uuid}/delete/")
    job = Job.objects.get(resource_uuid=uuid, flow="destroy-vm")
    assert done.status_code == 302 and done.headers["Location"] == f"/ui/jobs/{job.uuid}/"
    assert job.state == "succeeded" and env.vm(uuid)["state"] == "Destroyed"
    api_uuid, _ = env.create(name="by-api")
    env.job("delete", f"/api/v1/vm-instances/{api_uuid}/")
    assert Job.objects.get(resource_uuid=api_uuid, flow="destroy-vm").action == job.action
    assert {row.action for row in AuditLog.objects.filter(resource_uuid=uuid, method="DELETE")} == \
        {row.action for row in AuditLog.objects.filter(resource_uuid=api_uuid, method="DELETE")} == \
        {"vm-instances.destroy"}

    bin_page = text(page.get(f"/ui/vm-instances/{uuid}/"))
    assert f"/ui/vm-instances/{uuid}/recover/" in bin_page and f"/ui/vm-instances/{uuid}/stop/" not in bin_page
    assert page.post(f"/ui/vm-instances/{uuid}/recover/").status_code == 302
    assert env.vm(uuid)["state"] == "Stopped"


def test_bulk_destroy_asks_first_then_destroys_each_selected_vm(env, page):
    uuids = [env.create(name=f"b{i}")[0] for i in range(2)]
    asked = page.post("/ui/vm-instances/bulk/delete/", {"uuid": uuids})
    assert asked.status_code == 200 and all(u in text(asked) for u in uuids) and 'name="confirmed"' in text(asked)
    assert not Job.objects.filter(flow="destroy-vm").exists()
    with env.capture(execute=True):
        done = page.post("/ui/vm-instances/bulk/delete/", {"uuid": uuids, "confirmed": "yes"})
    assert done.status_code == 302
    assert sorted(str(u) for u in Job.objects.filter(flow="destroy-vm").values_list("resource_uuid", flat=True)) \
        == sorted(uuids)
    assert {env.vm(u)["state"] for u in uuids} == {"Destroyed"}


def test_open_console_is_the_api_s_console_token_in_a_tab_of_its_own(env, page):
    uuid, _ = env.create()
    api = env.client.post(f"/api/v1/vm-instances/{uuid}/console/")   # a simulated host has no VNC server
    assert api.status_code == 409
    detail = text(page.get(f"/ui/vm-instances/{uuid}/"))
    assert f'action="/ui/vm-instances/{uuid}/console/" target="_blank"' in detail
    assert f'id="open-console" disabled title="{html.escape(api.json()["message"])}"' in detail   # and why
    refused = page.post(f"/ui/vm-instances/{uuid}/console/")
    assert refused.status_code == 409 and html.escape(api.json()["message"]) in text(refused)

    host = Host.objects.filter(uuid=env.vm(uuid)["host_uuid"])
    host.update(hypervisor_type="KVM")   # as if it had a VNC server: the API gives a token
    assert 'id="open-console">' in text(page.get(f"/ui/vm-instances/{uuid}/"))
    opened = page.post(f"/ui/vm-instances/{uuid}/console/")
    assert opened.status_code == 302
    assert re.match(rf"http://testserver/console/vm/{uuid}/\?token=.+", opened.headers["Location"])

    host.update(hypervisor_type="Simulator")
    assert env.action(uuid, "stop")["state"] == "succeeded"
    assert re.search(r'id="open-console" disabled title="[^"]*Stopped', text(page.get(f"/ui/vm-instances/{uuid}/")))


def test_the_list_page_reads_as_many_rows_in_the_same_number_of_queries(db):
    owner = make_account("tenant-a")
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    hosts = [Host.objects.create(name=f"host-{i}", cluster=cluster, hypervisor_type="Simulator",
                                 management_ip=f"127.0.0.{i + 1}") for i in range(3)]
    client = browser(owner)

    def add(count):
        for i in range(count):
            VmInstance.objects.create(name=f"vm-{VmInstance.objects.count()}", account=owner.account, cpu_num=1,
                                      memory_size=512 * MIB, state="Running", host=hosts[i % 3])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/ui/vm-instances/")
        assert response.status_code == 200
        return len(captured), response

    add(2)
    few, _ = queries()
    add(20)
    many, response = queries()
    assert many == few and all(f">{host.name}<" in text(response) for host in hosts)

"""The console's generic pages answer what the API answers: the same 404 for another account's
object, the same validation messages, the same hidden admin-only fields, the same audit rows;
CSRF is enforced and the pages speak Simplified Chinese when asked."""
import re

import pytest
from django.test import Client

from apps.core.models import AuditLog, Job
from apps.core.testing import client_for, make_account
from apps.storage.models import BackupStorage, Image
from tests.ui.pages import browser, field_errors, text

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-1"
OFFERING = {"name": "small", "cpu_num": "2", "memory_size": str(1 << 30), "cpu_speed": "0", "sort_key": "0"}


@pytest.fixture
def admin(db):
    return make_account("console-admin", admin=True)


@pytest.fixture
def tenant(db):
    return make_account("tenant-a")


def test_an_anonymous_browser_is_sent_to_the_console_login_and_an_api_account_logs_in(admin):
    assert Client().get("/").headers["Location"] == "/ui/"
    assert Client().get("/ui/images/").headers["Location"] == "/ui/login/?next=/ui/images/"
    client = Client()
    wrong = client.post("/ui/login/", {"username": admin.username, "password": "nope"})
    assert wrong.status_code == 200 and "/ui/login/" in wrong.request["PATH_INFO"]
    response = client.post("/ui/login/", {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/ui/"
    dashboard = client.get("/ui/")
    assert dashboard.status_code == 200 and 'id="counts"' in text(dashboard)
    assert client.post("/ui/logout/").headers["Location"] == "/ui/login/"
    assert client.get("/ui/").status_code == 302


def test_another_accounts_image_is_the_same_404_in_the_console_as_in_the_api(tenant):
    other = make_account("tenant-b")
    image = Image.objects.create(name="private", account=other.account, url="http://x/i.qcow2")
    assert client_for(tenant).get(f"/api/v1/images/{image.uuid}/").status_code == 404
    client = browser(tenant)
    for path in (f"/ui/images/{image.uuid}/", f"/ui/images/{image.uuid}/edit/", f"/ui/images/{image.uuid}/delete/"):
        response = client.get(path)
        assert response.status_code == 404 and "private" not in text(response), path
    assert client.post(f"/ui/images/{image.uuid}/disable/").status_code == 404
    assert "private" not in text(client.get("/ui/images/"))
    image.refresh_from_db()
    assert image.state == "Enabled"
    assert browser(other).get(f"/ui/images/{image.uuid}/").status_code == 200


def test_admin_only_fields_and_actions_are_hidden_from_a_normal_account(admin, tenant, tmp_path):
    bs = BackupStorage.objects.create(name="bs1", url=str(tmp_path / "secret-dir"))
    assert "url" not in client_for(tenant).get(f"/api/v1/backup-storage/{bs.uuid}/").json()
    page = text(browser(tenant).get(f"/ui/backup-storage/{bs.uuid}/"))
    listing = text(browser(tenant).get("/ui/backup-storage/"))
    for shown in (page, listing):
        assert "secret-dir" not in shown
    assert "bs1" in listing and 'id="create"' not in listing and "data-bulk-action" not in listing
    assert f"/ui/backup-storage/{bs.uuid}/disable/" not in page and f"/ui/backup-storage/{bs.uuid}/edit/" not in page
    admin_page = text(browser(admin).get(f"/ui/backup-storage/{bs.uuid}/"))
    assert "secret-dir" in admin_page and f"/ui/backup-storage/{bs.uuid}/disable/" in admin_page
    assert 'id="create"' in text(browser(admin).get("/ui/backup-storage/"))


def test_the_same_bad_input_gives_the_same_message_in_the_api_and_beside_the_form_field(admin):
    bad = {**OFFERING, "cpu_num": "0"}
    api = client_for(admin).post("/api/v1/instance-offerings/", bad, format="json").json()
    form = browser(admin).post("/ui/instance-offerings/new/", bad)
    assert form.status_code == 400
    assert field_errors(form, "cpu_num") == api["details"]["cpu_num"]
    assert 'value="0"' in text(form)   # what was typed stays in the form
    missing = browser(admin).post("/ui/instance-offerings/new/", {"name": "x"})
    api_missing = client_for(admin).post("/api/v1/instance-offerings/", {"name": "x"}, format="json").json()
    assert field_errors(missing, "memory_size") == api_missing["details"]["memory_size"]
    # htmx swaps the form alone, errors beside the fields
    swapped = browser(admin).post("/ui/instance-offerings/new/", bad, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200 and "<html" not in text(swapped) and field_errors(swapped, "cpu_num")


def test_a_form_creates_through_the_api_and_the_call_is_audited_as_the_api_s(admin):
    response = browser(admin).post("/ui/instance-offerings/new/", OFFERING)
    assert response.status_code == 302
    uuid = response.headers["Location"].split("/")[-2]
    row = AuditLog.objects.get(resource_uuid=uuid)
    assert (row.action, row.method, row.path, row.status_code) == (
        "instance-offerings.create", "POST", "/api/v1/instance-offerings/", 201)
    page = text(browser(admin).get(response.headers["Location"]))
    assert "small" in page and "1 GiB" in page and "instance-offerings.create" in page   # its audit history
    edited = browser(admin).post(f"/ui/instance-offerings/{uuid}/edit/", {**OFFERING, "description": "two cpus"})
    assert edited.status_code == 302
    assert client_for(admin).get(f"/api/v1/instance-offerings/{uuid}/").json()["description"] == "two cpus"


def test_actions_run_through_the_api_and_its_refusals_are_shown(admin):
    uuid = client_for(admin).post("/api/v1/instance-offerings/", OFFERING, format="json").json()["uuid"]
    client = browser(admin)
    assert client.post(f"/ui/instance-offerings/{uuid}/disable/").status_code == 302
    assert client_for(admin).get(f"/api/v1/instance-offerings/{uuid}/").json()["state"] == "Disabled"
    again = client.post(f"/ui/instance-offerings/{uuid}/disable/", follow=True)
    api = client_for(admin).post(f"/api/v1/instance-offerings/{uuid}/disable/")
    if api.status_code >= 400:   # a refused transition: the API's sentence on the page
        assert api.json()["message"] in text(again)
    confirm = client.get(f"/ui/instance-offerings/{uuid}/delete/")
    assert confirm.status_code == 200 and 'id="plan"' in text(confirm)   # the cascade dry run first
    deleted = client.post(f"/ui/instance-offerings/{uuid}/delete/", follow=True)
    job = Job.objects.get(resource_uuid=uuid, flow="cascade-delete")   # the API's delete: a job
    assert f"/ui/jobs/{job.uuid}/" in text(deleted)   # named, linked, on the page it lands on


def test_bulk_delete_asks_first_then_deletes_every_selected_row(admin):
    uuids = [client_for(admin).post("/api/v1/instance-offerings/", {**OFFERING, "name": f"o{i}"},
                                    format="json").json()["uuid"] for i in range(2)]
    client = browser(admin)
    asked = client.post("/ui/instance-offerings/bulk/delete/", {"uuid": uuids})
    assert asked.status_code == 200 and all(u in text(asked) for u in uuids) and 'name="confirmed"' in text(asked)
    assert client_for(admin).get("/api/v1/instance-offerings/").json()["count"] == 2
    done = client.post("/ui/instance-offerings/bulk/delete/", {"uuid": uuids, "confirmed": "yes"})
    assert done.status_code == 302
    assert sorted(str(u) for u in Job.objects.filter(flow="cascade-delete").values_list("resource_uuid", flat=True)) \
        == sorted(uuids)


def test_the_list_searches_with_q_sorts_pages_and_shows_the_api_s_error(admin):
    for i, cpus in enumerate([1, 2, 4]):
        client_for(admin).post("/api/v1/instance-offerings/", {**OFFERING, "name": f"o{i}", "cpu_num": cpus},
                               format="json")
    client = browser(admin)
    found = text(client.get("/ui/instance-offerings/", {"q": "cpu_num>=2"}))
    assert "o1" in found and "o2" in found and ">o0<" not in found
    assert ">o2<" in text(client.get("/ui/instance-offerings/", {"q": "o2"}))   # a plain word: the name
    api = client_for(admin).get("/api/v1/instance-offerings/", {"q": "cpu_num>=x"}).json()
    error = client.get("/ui/instance-offerings/", {"q": "cpu_num>=x"})
    assert error.status_code == 200 and 'id="search-error"' in text(error)
    assert api["message"].replace("'", "&#x27;") in text(error)
    ordered = text(client.get("/ui/instance-offerings/", {"ordering": "-cpu_num"}))
    assert ordered.index(">o2<") < ordered.index(">o1<") < ordered.index(">o0<")
    paged = client.get("/ui/instance-offerings/", {"limit": 2, "offset": 2, "ordering": "cpu_num"},
                       HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert "<html" not in text(paged) and text(paged).count("data-uuid") == 1 and "3–3 of 3" in text(paged)
    csv = text(client.get("/ui/instance-offerings/", {"q": "cpu_num>=2"}))
    assert "/api/v1/instance-offerings/?format=csv&amp;q=cpu_num%3E%3D2" in csv


def test_csrf_is_enforced_on_every_console_post(admin):
    client = browser(admin, enforce_csrf_checks=True)
    assert client.post("/ui/instance-offerings/new/", OFFERING).status_code == 403
    page = text(client.get("/ui/instance-offerings/new/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post("/ui/instance-offerings/new/", {**OFFERING, "csrfmiddlewaretoken": token}).status_code == 302
    assert Client(enforce_csrf_checks=True).post("/ui/login/", {"username": "x", "password": "y"}).status_code == 403


def test_global_configs_are_grouped_by_category_and_edited_in_place(admin, tenant):
    client = browser(admin)
    page = text(client.get("/ui/global-configs/"))
    assert 'id="category-host"' in page and "ping.interval" in page and 'name="value"' in page
    saved = client.post("/ui/global-configs/host/ping.interval/", {"value": "30"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and "<html" not in text(saved) and 'value="30"' in text(saved)
    assert client_for(admin).get("/api/v1/global-configs/host/ping.interval/").json()["value"] == 30
    api = client_for(admin).patch("/api/v1/global-configs/host/ping.interval/", {"value": "0"}, format="json").json()
    refused = client.post("/ui/global-configs/host/ping.interval/", {"value": "0"}, HTTP_HX_REQUEST="true")
    assert api["message"].replace("'", "&#x27;") in text(refused)
    assert "ping.interval" in (shown := text(browser(tenant).get("/ui/global-configs/"))) and 'name="value"' not in shown


def test_the_pages_speak_simplified_chinese_when_asked(admin):
    client = browser(admin)
    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/ui/"})
    assert switched.status_code == 302
    page = text(client.get("/ui/"))
    assert '<html lang="zh-hans"' in page and "仪表盘" in page and "计算规格" in page
    listing = text(client.get("/ui/instance-offerings/"))
    assert "导出 CSV" in listing and "新建" in listing
    english = Client()
    english.force_login(admin)
    assert "Dashboard" in text(english.get("/ui/")) and "仪表盘" not in text(english.get("/ui/"))
    assert "计算规格" in text(english.get("/ui/", HTTP_ACCEPT_LANGUAGE="zh-CN"))


def test_the_sidebar_marks_the_page_shown(admin):
    client = browser(admin)

    def marked(path):
        return re.findall(r'<a class="nav-link[^"]* active[^"]*" href="([^"]+)"', text(client.get(path)))

    assert marked("/ui/") == ["/ui/"]
    assert marked("/ui/vm-instances/") == ["/ui/vm-instances/"]
    assert marked("/ui/hosts/") == ["/ui/hosts/"]
    assert marked("/ui/vm-instances/?q=state%3DRunning") == ["/ui/vm-instances/"]   # built once, still its own


def test_a_list_s_first_page_newest_first_or_in_its_order_says_which_jobs_bring_it_new_rows(admin):
    from apps.infra.models import Zone

    for n in range(3):
        Zone.objects.create(name=f"z{n}")
    client = browser(admin)
    for query in ({}, {"ordering": "-created_at", "q": "name~=z%"}):
        page = text(client.get("/ui/zones/", query))
        assert 'data-live-jobs-of="Zone"' in page
        src = re.search(r'id="results-live"[^>]*data-live-src="([^"]*)"', page).group(1)
        assert "offset" not in src and text(client.get(src.replace("&amp;", "&"))).count("<tr id=\"row-") == 3
    for query in ({"ordering": "name"}, {"offset": "1", "limit": "1"}):   # the new rows would not show there
        assert "data-live-jobs-of" not in text(client.get("/ui/zones/", query))
    assert "data-live-jobs-of" not in text(client.get("/ui/jobs/"))   # jobs follow themselves


def test_a_size_is_typed_as_a_number_and_a_unit_and_the_form_sends_bytes(admin):
    """An offering's memory in its edit form: 1.5 GiB shows as 1536 MiB, the hidden input the form
    sends holds the bytes the API has; a size no unit divides shows in bytes."""
    from apps.core.ui.widgets import Input

    uuid = client_for(admin).post("/api/v1/instance-offerings/", {**OFFERING, "memory_size": str(3 << 29)},
                                  format="json").json()["uuid"]
    page = text(browser(admin).get(f"/ui/instance-offerings/{uuid}/edit/"))
    number = re.search(r'<input[^>]* id="f-memory_size" type="number"[^>]*value="([^"]*)"', page)
    unit = re.search(r'<select[^>]*id="f-memory_size-unit".*?<option value="(\d+)" selected>(\w+)<', page, re.S)
    sent = re.search(r'<input type="hidden" name="memory_size" value="(\d+)">', page)
    assert (number.group(1), unit.groups(), sent.group(1)) == ("1536", (str(1 << 20), "MiB"), str(3 << 29))
    assert Input("memory_size", "Memory", "size", value=1000).size == (1000, "B")
    assert Input("memory_size", "Memory", "size", value=2 << 40).size == (2, "TiB")
    assert Input("memory_size", "Memory", "size", value="").size == ("", "GiB")

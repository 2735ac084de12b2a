"""The console's pages for volumes, IP ranges and used IPs, tags, change logs, users' passwords,
and the job page's steps: each page's main path, answered by the API (its tenancy, its rules)."""

import pytest

from apps.accounts.models import User
from apps.compute.models import VmInstance, VmNic
from apps.core.models import ChangeLog, Job, Tag
from apps.core.testing import client_for, make_account
from apps.infra.models import Zone
from apps.network import ipam
from apps.network.models import IpRange, L2Network, L3Network
from apps.storage.models import PrimaryStorage, Volume
from tests.ui.pages import browser, field_errors, text

pytestmark = pytest.mark.django_db

RANGE = {"start_ip": "10.0.0.10", "end_ip": "10.0.0.20", "netmask": "255.255.255.0", "gateway": "10.0.0.1"}


@pytest.fixture
def admin(db):
    return make_account("pages-admin", admin=True)


@pytest.fixture
def tenant(db):
    return make_account("tenant-a")


@pytest.fixture
def zone(db):
    return Zone.objects.create(name="zone-1")


@pytest.fixture
def storage(zone):
    return PrimaryStorage.objects.create(name="ps-1", url="/var/ps-secret", zone=zone)


def volume_of(user, storage, name):
    return Volume.objects.create(name=name, account=user.account, primary_storage=storage, size=2 << 30,
                                 install_path=f"/var/ps-secret/{name}.qcow2", status="Ready")


# --- volumes -----------------------------------------------------------------------------------

def test_volumes_list_and_detail_show_the_apis_rows_with_their_storage_linked(admin, tenant, storage):
    volume = volume_of(tenant, storage, "root-of-web")
    listing = browser(tenant).get("/ui/volumes/", {"q": "root"})
    assert listing.status_code == 200
    assert "root-of-web" in text(listing) and "2 GiB" in text(listing)
    assert f'/ui/primary-storage/{storage.uuid}/' in text(listing) and ">ps-1<" in text(listing)
    assert "/ui/volumes/new/" in text(listing)   # data volumes are made here (issue 19)
    page = browser(tenant).get(f"/ui/volumes/{volume.uuid}/")
    assert page.status_code == 200 and "root-of-web" in text(page)
    assert "/var/ps-secret" not in text(page)   # install_path: the API shows it to admins only
    assert "/var/ps-secret/root-of-web.qcow2" in text(browser(admin).get(f"/ui/volumes/{volume.uuid}/"))
    # nor in its history: the API's change log leaves admin-only fields out for normal accounts
    changes = {user: client_for(user).get("/api/v1/change-logs/", {"q": f"resource_uuid={volume.uuid}"}).json()
               for user in (tenant, admin)}
    assert changes[tenant]["count"] == 1 and "install_path" not in changes[tenant]["results"][0]["after"]
    assert changes[admin]["results"][0]["after"]["install_path"] == "/var/ps-secret/root-of-web.qcow2"
    # the storage's page lists its volumes (the API's q=primary_storage_uuid=...)
    assert "root-of-web" in text(browser(admin).get(f"/ui/primary-storage/{storage.uuid}/"))
    csv = client_for(tenant).get("/api/v1/volumes/", {"format": "csv", "q": "name~=%root%"})
    assert "root-of-web" in csv.content.decode()


def test_another_accounts_volume_is_the_same_404_as_in_the_api(tenant, storage):
    other = make_account("tenant-b")
    volume = volume_of(other, storage, "private-disk")
    assert client_for(tenant).get(f"/api/v1/volumes/{volume.uuid}/").status_code == 404
    page = browser(tenant).get(f"/ui/volumes/{volume.uuid}/")
    assert page.status_code == 404 and "private-disk" not in text(page)
    assert "private-disk" not in text(browser(tenant).get("/ui/volumes/"))
    assert browser(other).get(f"/ui/volumes/{volume.uuid}/").status_code == 200


# --- IP ranges and used IPs --------------------------------------------------------------------

@pytest.fixture
def l3(admin, zone):
    l2 = L2Network.objects.create(name="l2-1", zone=zone, physical_interface="eth0")
    return L3Network.objects.create(name="l3-1", l2_network=l2, dhcp=False)


def test_an_ip_range_is_added_on_the_l3_page_with_the_apis_messages_then_listed_and_deleted(admin, l3):
    client = browser(admin)
    page = text(client.get(f"/ui/l3-networks/{l3.uuid}/"))
    assert f"/ui/l3-networks/{l3.uuid}/ip-ranges/" in page   # "Add IP range"
    form = client.get(f"/ui/l3-networks/{l3.uuid}/ip-ranges/")
    assert form.status_code == 200 and 'name="start_ip"' in text(form) and 'name="gateway"' in text(form)
    bad = {**RANGE, "gateway": "10.0.1.1"}
    api = client_for(admin).post(f"/api/v1/l3-networks/{l3.uuid}/ip-ranges/", bad, format="json").json()
    refused = client.post(f"/ui/l3-networks/{l3.uuid}/ip-ranges/", bad)
    assert refused.status_code == 400 and field_errors(refused, "gateway") == api["details"]["gateway"]
    added = client.post(f"/ui/l3-networks/{l3.uuid}/ip-ranges/", RANGE)
    assert added.status_code == 302 and added.headers["Location"] == f"/ui/l3-networks/{l3.uuid}/"
    ip_range = IpRange.objects.get(l3_network=l3)
    page = text(client.get(f"/ui/l3-networks/{l3.uuid}/"))
    assert 'id="ip-ranges"' in page and "10.0.0.10" in page and f"/ui/ip-ranges/{ip_range.uuid}/" in page
    listing = text(client.get("/ui/ip-ranges/", {"q": "start_ip=10.0.0.10"}))
    assert "10.0.0.10-10.0.0.20" in listing and ">l3-1<" in listing
    detail = client.get(f"/ui/ip-ranges/{ip_range.uuid}/")
    assert detail.status_code == 200 and "10.0.0.0/24" in text(detail)
    confirm = client.get(f"/ui/ip-ranges/{ip_range.uuid}/delete/")
    assert confirm.status_code == 200 and 'id="confirm"' in text(confirm)
    assert client.post(f"/ui/ip-ranges/{ip_range.uuid}/delete/").status_code == 302
    assert not IpRange.objects.filter(pk=ip_range.pk).exists()


def test_a_normal_account_sees_only_its_own_used_ips_on_the_l3_page(admin, l3):
    client_for(admin).post(f"/api/v1/l3-networks/{l3.uuid}/ip-ranges/", RANGE, format="json")
    users = {name: make_account(name) for name in ("alice", "bob")}
    addresses = {}
    for name, ip in (("alice", "10.0.0.15"), ("bob", "10.0.0.16")):
        vm = VmInstance.objects.create(name=f"vm-{name}", account=users[name].account, cpu_num=1,
                                       memory_size=1 << 30, state="Running")
        used = ipam.allocate(l3, ip=ip, owner_uuid=vm.uuid, with_mac=True)
        VmNic.objects.create(vm_instance=vm, l3_network=l3, used_ip=used, ip=used.ip, mac=used.mac,
                             netmask="255.255.255.0")
        addresses[name] = (used.ip, used.mac, str(vm.uuid))
    for name, other in (("alice", "bob"), ("bob", "alice")):
        page = browser(users[name]).get(f"/ui/l3-networks/{l3.uuid}/")
        assert page.status_code == 200
        used_ips = text(page).split('id="used-ips"')[1]
        ip, mac, vm_uuid = addresses[name]
        assert ip in used_ips and mac in used_ips and f"/ui/vm-instances/{vm_uuid}/" in used_ips
        assert f">vm-{name}<" in used_ips   # the VM's name, as the API's VM list gives it
        assert not any(value in text(page) for value in addresses[other])
        assert f"/ui/l3-networks/{l3.uuid}/ip-ranges/" not in text(page)   # adding a range: admins only
    admin_page = text(browser(admin).get(f"/ui/l3-networks/{l3.uuid}/")).split('id="used-ips"')[1]
    assert all(addresses[name][0] in admin_page for name in addresses)


# --- tags --------------------------------------------------------------------------------------

def test_tags_added_and_removed_on_a_detail_page_are_the_apis_tags(tenant, storage):
    volume = volume_of(tenant, storage, "data-1")
    client = browser(tenant)
    page = f"/ui/volumes/{volume.uuid}/"
    assert 'id="tag-form"' in text(client.get(page))
    added = client.post(f"/ui/tags/on/{volume.uuid}/", {"resource_uuid": str(volume.uuid), "tag": "env=prod",
                                                        "next": page})
    assert added.status_code == 302 and added.headers["Location"] == page
    api = client_for(tenant).get("/api/v1/tags/", {"q": f"resource_uuid={volume.uuid}"}).json()["results"]
    assert [(t["tag"], t["type"], t["resource_type"]) for t in api] == [("env=prod", "user", "Volume")]
    assert client_for(tenant).get(f"/api/v1/volumes/{volume.uuid}/").json()["tags"] == ["env=prod"]
    shown = text(client.get(page))
    assert 'data-tag="env=prod"' in shown and f"/ui/tags/on/{volume.uuid}/remove/{api[0]['uuid']}/" in shown
    # the same tag again: the API's 409, its message beside the tags (htmx swaps them)
    again = client.post(f"/ui/tags/on/{volume.uuid}/", {"resource_uuid": str(volume.uuid), "tag": "env=prod"},
                        HTTP_HX_REQUEST="true")
    assert again.status_code == 200 and "already has tag" in text(again) and "<html" not in text(again)
    # the tags page lists it, with the volume named and linked
    listing = text(client.get("/ui/tags/", {"q": "env"}))
    assert "env=prod" in listing and f"/ui/volumes/{volume.uuid}/" in listing and ">data-1<" in listing
    client.cookies["django_language"] = "zh-hans"
    chinese = text(client.get(page))
    assert "移除标签 env=prod" in chinese and "云盘" in chinese and "变更记录" in chinese
    removed = client.post(f"/ui/tags/on/{volume.uuid}/remove/{api[0]['uuid']}/", {"next": page})
    assert removed.status_code == 302
    assert not Tag.objects.filter(resource_uuid=volume.uuid).exists()


def test_another_account_cannot_tag_a_volume_it_does_not_see(tenant, storage):
    volume = volume_of(make_account("tenant-b"), storage, "not-yours")
    response = browser(tenant).post(f"/ui/tags/on/{volume.uuid}/", {"resource_uuid": str(volume.uuid),
                                                                      "tag": "mine"}, HTTP_HX_REQUEST="true")
    assert "not found" in text(response)
    assert not Tag.objects.filter(resource_uuid=volume.uuid).exists()


# --- change logs -------------------------------------------------------------------------------

def test_a_resources_changes_are_shown_on_its_page_and_in_the_change_log(admin, zone):
    client = browser(admin)
    assert client.post(f"/ui/zones/{zone.uuid}/edit/", {"name": "zone-renamed", "description": ""}).status_code == 302
    assert ChangeLog.objects.filter(resource_uuid=zone.uuid, action="update").exists()
    page = text(client.get(f"/ui/zones/{zone.uuid}/"))
    changes = page.split('id="changes"')[1]
    assert "name: zone-1 → zone-renamed" in changes
    listing = text(client.get("/ui/change-logs/", {"q": "action=update"}))
    assert "name: zone-1 → zone-renamed" in listing and f"/ui/zones/{zone.uuid}/" in listing
    newest_first = text(client.get("/ui/change-logs/", {"q": f"resource_uuid={zone.uuid}"}))
    assert newest_first.index("name: zone-1 → zone-renamed") < newest_first.index("5 fields")   # update, create


# --- accounts and users ------------------------------------------------------------------------

def test_a_users_password_is_changed_through_the_api_with_its_messages(tenant):
    client = browser(tenant)
    assert f"/ui/users/{tenant.uuid}/password/" in text(client.get("/ui/"))   # the user menu
    page = client.get(f"/ui/users/{tenant.uuid}/password/")
    assert page.status_code == 200 and 'type="password"' in text(page)
    api = client_for(tenant).patch(f"/api/v1/users/{tenant.uuid}/", {"password": "short"}, format="json").json()
    short = client.post(f"/ui/users/{tenant.uuid}/password/", {"password": "short"})
    assert short.status_code == 400 and field_errors(short, "password") == api["details"]["password"]
    done = client.post(f"/ui/users/{tenant.uuid}/password/", {"password": "a-new-password"})
    assert done.status_code == 302
    tenant.refresh_from_db()
    assert tenant.check_password("a-new-password")
    assert client.get("/ui/").status_code == 200   # one's own new password keeps one logged in
    other = make_account("tenant-b")
    assert client.get(f"/ui/users/{other.uuid}/password/").status_code == 404
    assert client.post(f"/ui/users/{other.uuid}/password/", {"password": "taken-over-1"}).status_code == 404
    other.refresh_from_db()
    assert not other.check_password("taken-over-1")


def test_users_edit_form_leaves_the_password_out_and_new_users_are_ones_own(admin, tenant):
    make_account("tenant-b")
    client = browser(tenant)
    edit = text(client.get(f"/ui/users/{tenant.uuid}/edit/"))
    assert 'name="description"' in edit and 'name="password"' not in edit
    saved = client.post(f"/ui/users/{tenant.uuid}/edit/", {"name": tenant.username, "description": "ops"})
    assert saved.status_code == 302
    new_user = text(client.get("/ui/users/new/"))
    assert "tenant-b" not in new_user   # other accounts are not offered (nor named)
    made = client.post("/ui/users/new/", {"name": "ops-1", "description": "", "account_uuid": "",
                                          "password": "pass-word-2"})
    assert made.status_code == 302
    assert User.objects.get(username="ops-1").account_id == tenant.account_id   # the API's default: one's own
    accounts = text(client.get("/ui/accounts/"))
    assert "tenant-a" in accounts and "tenant-b" not in accounts
    page = text(client.get(f"/ui/accounts/{tenant.account.uuid}/"))
    assert "ops-1" in page and f"/ui/accounts/{tenant.account.uuid}/delete/" not in page   # its users; admin-only


# --- jobs --------------------------------------------------------------------------------------

def test_the_job_page_shows_each_step_once_with_its_state_duration_and_error(admin):
    job = Job.objects.create(flow="demo", action="demo", state="failed", progress=50, account=admin.account,
                             result={"partial": True},
                             error={"code": "AGENT_ERROR", "message": "the agent said no", "step": "second-step"},
                             steps=[{"name": "first-step", "state": "succeeded", "duration_ms": 1500,
                                     "started_at": "2026-12-07T03:00:00+00:00"},
                                    {"name": "second-step", "state": "failed", "duration_ms": 20,
                                     "error": {"code": "AGENT_ERROR", "message": "the agent said no"},
                                     "rollback": "done"}])
    page = text(browser(admin).get(f"/ui/jobs/{job.uuid}/"))
    # once each: its row (data-step) and its name in it; the steps' JSON is gone from the fields
    assert page.count("first-step") == 2 and page.count("<code>first-step</code>") == 1
    assert page.count('data-step="second-step"') == 1
    assert '"duration_ms"' not in page and "[{" not in page   # no raw JSON of the steps
    steps = page.split('id="steps"')[1]
    assert "1.5 s" in steps and "20 ms" in steps and "2026-12-07 03:00:00" in steps
    assert "AGENT_ERROR: the agent said no" in steps
    assert f"/ui/jobs/{job.uuid}/cancel/" not in page   # a finished job: the API's cancel would refuse it
    running = Job.objects.create(flow="demo", action="demo", state="running", account=admin.account)
    assert f"/ui/jobs/{running.uuid}/cancel/" in text(browser(admin).get(f"/ui/jobs/{running.uuid}/"))


def test_a_volumes_vm_and_a_jobs_resource_are_shown_by_name_linked(admin, tenant, storage):
    vm = VmInstance.objects.create(name="web-9", account=tenant.account, cpu_num=1, memory_size=1 << 30)
    volume = volume_of(tenant, storage, "root-of-web-9")
    Volume.objects.filter(pk=volume.pk).update(vm_instance_uuid=vm.uuid)
    page = text(browser(tenant).get(f"/ui/volumes/{volume.uuid}/"))
    assert f'<a href="/ui/vm-instances/{vm.uuid}/" title="{vm.uuid}">web-9</a>' in page
    assert "root-of-web-9" in text(browser(tenant).get(f"/ui/vm-instances/{vm.uuid}/"))   # the VM's volumes
    job = Job.objects.create(flow="demo", action="demo", state="succeeded", account=admin.account,
                             resource_type="Volume", resource_uuid=volume.uuid)
    page = text(browser(admin).get(f"/ui/jobs/{job.uuid}/"))
    assert f'<a href="/ui/volumes/{volume.uuid}/" title="Volume {volume.uuid}">root-of-web-9</a>' in page

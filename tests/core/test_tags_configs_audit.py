"""Tags (P5), global configs (O5), audit and change logs (O4), the error shape."""
import pytest

from apps.core import systemtags
from apps.core.errors import InvalidState
from apps.core.globalconfig import REGISTRY, GlobalConfigDef
from apps.core.models import AuditLog, ChangeLog
from apps.core.states import ENABLE_STATE_MACHINE
from apps.infra.models import Cluster, Zone
from tests.conftest import client_for, make_account

pytestmark = pytest.mark.django_db


# --- tags ------------------------------------------------------------------------------


def test_user_tags_add_query_list_remove(admin_client, tenant_client):
    web, db = Zone.objects.create(name="web-zone"), Zone.objects.create(name="db-zone")
    response = tenant_client.post("/api/v1/tags/", {"resource_uuid": str(web.uuid), "tag": "web"}, format="json")
    assert response.status_code == 201, response.content
    tag = response.json()
    assert tag["resource_type"] == "Zone"
    listed = tenant_client.get("/api/v1/zones/", {"q": "tag=web"}).json()
    assert [z["uuid"] for z in listed["results"]] == [str(web.uuid)]
    assert listed["results"][0]["tags"] == ["web"]
    assert tenant_client.get("/api/v1/zones/", {"q": "tag!=web"}).json()["count"] == 1
    # another account neither sees the tag nor matches by it
    other = client_for(make_account("other"))
    assert other.get("/api/v1/zones/", {"q": "tag=web"}).json()["count"] == 0
    assert other.get(f"/api/v1/zones/{web.uuid}/").json()["tags"] == []
    assert other.get("/api/v1/tags/").json()["count"] == 0
    assert other.delete(f"/api/v1/tags/{tag['uuid']}/").status_code == 404
    # duplicate is a clear 409; blank is 400; unknown resource is 404
    dup = tenant_client.post("/api/v1/tags/", {"resource_uuid": str(web.uuid), "tag": "web"}, format="json")
    assert dup.status_code == 409 and dup.json()["code"] == "DUPLICATE_TAG"
    assert tenant_client.post("/api/v1/tags/", {"resource_uuid": str(db.uuid), "tag": " "},
                              format="json").status_code == 400
    missing = tenant_client.post("/api/v1/tags/", {"resource_uuid": "00000000-0000-4000-8000-000000000000",
                                                   "tag": "x"}, format="json")
    assert missing.status_code == 404
    assert tenant_client.get("/api/v1/tags/", {"q": f"resource_uuid={web.uuid}"}).json()["count"] == 1
    assert tenant_client.delete(f"/api/v1/tags/{tag['uuid']}/").status_code == 204
    assert tenant_client.get("/api/v1/zones/", {"q": "tag=web"}).json()["count"] == 0


def test_cannot_tag_another_tenants_resource(tenant_client):
    stranger = make_account("stranger")
    response = tenant_client.post("/api/v1/tags/", {"resource_uuid": str(stranger.account.uuid), "tag": "x"},
                                  format="json")
    assert response.status_code == 404


def test_system_tags_are_typed_parsed_and_validated(admin_client, tenant_client):
    definition = systemtags.SystemTagDef("testQuota::{count:int}::{addr:ip}", "Cluster")
    try:
        assert definition.parse("testQuota::12::10.0.0.1") == {"count": 12, "addr": "10.0.0.1"}
        assert definition.parse("testQuota::x::10.0.0.1") is None
        assert definition.format(count=3, addr="::1") == "testQuota::3::::1"
        cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"))
        ok = admin_client.post("/api/v1/tags/", {"resource_uuid": str(cluster.uuid), "tag": "testQuota::5::10.0.0.9",
                                                 "type": "system"}, format="json")
        assert ok.status_code == 201, ok.content
        bad = admin_client.post("/api/v1/tags/", {"resource_uuid": str(cluster.uuid), "tag": "testQuota::5::nope",
                                                  "type": "system"}, format="json")
        assert bad.status_code == 400 and bad.json()["code"] == "INVALID_SYSTEM_TAG"
        assert bad.json()["details"]["patterns"] == ["testQuota::{count:int}::{addr:ip}"]
        denied = tenant_client.post("/api/v1/tags/", {"resource_uuid": str(cluster.uuid),
                                                      "tag": "testQuota::1::10.0.0.1", "type": "system"}, format="json")
        assert denied.status_code == 403
        # system tags are visible to every account
        assert tenant_client.get(f"/api/v1/clusters/{cluster.uuid}/").json()["tags"] == ["testQuota::5::10.0.0.9"]
    finally:
        systemtags.SYSTEM_TAGS.remove(definition)


# --- global configs ---------------------------------------------------------------------------


@pytest.fixture
def ratio_config():
    definition = GlobalConfigDef("test", "cpu.ratio", float, 10.0, "a test ratio",
                                 validator=lambda v: None if v > 0 else (_ for _ in ()).throw(ValueError("must be > 0")),
                                 overridable_by=["Zone", "Cluster"])
    yield definition
    REGISTRY.pop(("test", "cpu.ratio"))


def test_global_config_list_get_patch_takes_effect_at_once(admin_client, tenant_client, ratio_config):
    listed = admin_client.get("/api/v1/global-configs/", {"q": "category=test"}).json()
    assert listed["results"] == [{"category": "test", "name": "cpu.ratio", "type": "float", "value": 10.0,
                                  "default_value": 10.0, "description": "a test ratio",
                                  "updated_at": listed["results"][0]["updated_at"]}]
    url = "/api/v1/global-configs/test/cpu.ratio/"
    assert admin_client.get(url).json()["value"] == 10.0
    refused = tenant_client.patch(url, {"value": 4}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "PERMISSION_DENIED"
    assert "only an admin" in refused.json()["message"] and tenant_client.get(url).json()["value"] == 10.0
    assert tenant_client.delete(url).status_code == 403
    response = admin_client.patch(url, {"value": "4.5"}, format="json")
    assert response.status_code == 200 and response.json()["value"] == 4.5
    assert ratio_config.value() == 4.5  # no restart, no cache
    bad = admin_client.patch(url, {"value": -1}, format="json")
    assert bad.status_code == 400 and "must be > 0" in bad.json()["message"]
    assert admin_client.patch(url, {"value": "abc"}, format="json").status_code == 400
    assert admin_client.patch(url, {}, format="json").status_code == 400
    assert admin_client.delete(url).json()["value"] == 10.0  # reset to default
    missing = admin_client.get("/api/v1/global-configs/test/nope/")
    assert missing.status_code == 404 and missing.json()["code"] == "NO_SUCH_CONFIG"
    assert AuditLog.objects.filter(action="global-configs.update").count() == 4


def test_resource_overrides_resolve_cluster_then_zone_then_global(admin_client, tenant_client, ratio_config):
    zone = Zone.objects.create(name="z")
    cluster = Cluster.objects.create(name="c", zone=zone)
    base = "/api/v1/global-configs/test/cpu.ratio/resources/"
    assert ratio_config.value(resource=cluster) == 10.0
    assert admin_client.put(f"{base}{zone.uuid}/", {"value": 3}, format="json").status_code == 200
    assert ratio_config.value(resource=cluster) == 3.0  # inherited from the zone
    assert admin_client.put(f"{base}{cluster.uuid}/", {"value": 2}, format="json").status_code == 200
    assert ratio_config.value(resource=cluster) == 2.0
    assert ratio_config.value() == 10.0
    detail = admin_client.get(f"{base}{cluster.uuid}/").json()
    assert detail["value"] == 2.0 and detail["effective"] == 2.0
    listed = admin_client.get(base).json()
    assert listed["overridable_by"] == ["Zone", "Cluster"] and len(listed["results"]) == 2
    assert tenant_client.put(f"{base}{cluster.uuid}/", {"value": 1}, format="json").status_code == 403
    account = make_account("acct").account
    not_allowed = admin_client.put(f"{base}{account.uuid}/", {"value": 1}, format="json")
    assert not_allowed.status_code == 400 and not_allowed.json()["code"] == "NOT_OVERRIDABLE"
    assert admin_client.put(f"{base}{cluster.uuid}/", {"value": 0}, format="json").status_code == 400
    assert admin_client.delete(f"{base}{cluster.uuid}/").status_code == 204
    assert ratio_config.value(resource=cluster) == 3.0
    assert admin_client.delete(f"{base}{cluster.uuid}/").status_code == 404


def test_resource_overrides_are_read_from_the_table_once_per_second_per_process(ratio_config):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.core.models import ResourceConfig

    zone = Zone.objects.create(name="z")
    clusters = [Cluster.objects.create(name=f"c{i}", zone=zone) for i in range(5)]
    ResourceConfig.objects.create(category="test", name="cpu.ratio", resource_type="Zone", resource_uuid=zone.uuid,
                                  value=4.0)
    assert ratio_config.value(resource=clusters[0]) == 4.0  # the save cleared the cache: seen at once
    with CaptureQueriesContext(connection) as queries:
        assert [ratio_config.value(resource=c) for c in clusters] == [4.0] * 5
    assert not [q for q in queries.captured_queries if "core_resourceconfig" in q["sql"]]


# --- audit and change logs -------------------------------------------------------------------


def test_every_mutating_call_is_audited_and_queryable(admin_client, tenant_client, admin_user):
    created = admin_client.post("/api/v1/zones/", {"name": "audited"}, format="json", REMOTE_ADDR="10.1.2.3")
    zone_uuid = created.json()["uuid"]
    admin_client.patch(f"/api/v1/zones/{zone_uuid}/", {"description": "d2"}, format="json")
    admin_client.post(f"/api/v1/zones/{zone_uuid}/disable/")
    tenant_client.post("/api/v1/zones/", {"name": "nope"}, format="json")
    logs = admin_client.get("/api/v1/audit-logs/", {"q": f"resource_uuid={zone_uuid}", "ordering": "created_at"})
    rows = logs.json()["results"]
    assert [(r["method"], r["action"], r["status_code"], r["result"]) for r in rows] == [
        ("POST", "zones.create", 201, "success"),
        ("PATCH", "zones.update", 200, "success"),
        ("POST", "zones.disable", 200, "success"),
    ]
    assert rows[0]["client_ip"] == "10.1.2.3"
    assert rows[0]["user_name"] == admin_user.username
    assert rows[0]["account_uuid"] == str(admin_user.account.uuid)
    denied = AuditLog.objects.filter(action="zones.create", result="failure").get()
    assert denied.status_code == 403 and denied.error_code == "PERMISSION_DENIED"
    assert denied.user_name == "tenant-a"
    # change logs: before/after of what changed, tied to the request
    changes = ChangeLog.objects.filter(resource_uuid=zone_uuid).order_by("id")
    assert [c.action for c in changes] == ["create", "update", "update"]
    assert changes[1].before == {"description": ""} and changes[1].after == {"description": "d2"}
    assert changes[2].before == {"state": "Enabled"} and changes[2].after == {"state": "Disabled"}
    assert changes[1].request_id == rows[1]["request_id"]
    listed = admin_client.get("/api/v1/change-logs/", {"q": [f"resource_uuid={zone_uuid}", "action=update"]})
    assert listed.json()["count"] == 2
    # a normal account sees only its own audit trail
    own = tenant_client.get("/api/v1/audit-logs/").json()["results"]
    assert own and {r["user_name"] for r in own} == {"tenant-a"}


def test_audit_logs_export_as_csv(admin_client):
    admin_client.post("/api/v1/zones/", {"name": "csv"}, format="json")
    response = admin_client.get("/api/v1/audit-logs/", {"format": "csv", "fields": "method,path,status_code"})
    assert response.status_code == 200
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "method,path,status_code"
    assert "POST,/api/v1/zones/,201" in lines


# --- states and the error shape ----------------------------------------------------------------


def test_illegal_transition_raises_naming_the_state():
    from apps.core.states import StateMachine

    machine = StateMachine("host", {("Enabled", "disable"): "Disabled", ("Disabled", "enable"): "Enabled"})
    assert machine.next("Enabled", "disable") == "Disabled"
    with pytest.raises(InvalidState) as caught:
        machine.next("Disabled", "disable")
    assert caught.value.status == 409
    assert caught.value.message == "cannot disable a host in state Disabled"
    assert caught.value.details == {"state": "Disabled", "action": "disable", "allowed_actions": ["enable"]}
    # an event with its own API name: the refusal names the action, and the actions allowed
    vm_like = StateMachine("VM", {("Stopped", "starting"): "Starting", ("Running", "stopping"): "Stopping"},
                           actions={"start": "starting", "stop": "stopping", "power-off": "stopping"})
    with pytest.raises(InvalidState) as caught:
        vm_like.next("Stopped", "stopping", action="power-off")
    assert caught.value.message == "cannot power-off a VM in state Stopped"
    assert caught.value.details["allowed_actions"] == ["start"]
    # an event no action fires (the portal's own) is said as such, not as a verb
    with pytest.raises(InvalidState) as caught:
        vm_like.next("Stopped", "running")
    assert caught.value.message == "a VM in state Stopped cannot be marked running"
    assert ENABLE_STATE_MACHINE.next("Enabled", "enable") == "Enabled"


@pytest.mark.parametrize("method,path,body,status", [
    ("get", "/api/v1/no-such-collection/", None, 404),
    ("get", "/api/v1/zones/not-a-uuid/", None, 404),
    ("put", "/api/v1/zones/", {"name": "x"}, 405),
    ("post", "/api/v1/zones/", {"name": "x" * 300}, 400),
    ("get", "/api/v1/zones/?limit=abc", None, 400),
    ("get", "/api/v1/zones/?fields=nope", None, 400),
    ("get", "/api/v1/jobs/?q=state", None, 400),
    ("post", "/api/v1/jobs/00000000-0000-4000-8000-000000000000/cancel/", None, 404),
])
def test_errors_share_one_shape_and_never_500(admin_client, method, path, body, status):
    response = getattr(admin_client, method)(path, body, format="json") if body else getattr(admin_client, method)(path)
    assert response.status_code == status, response.content
    payload = response.json()
    assert set(payload) == {"code", "message", "details"}
    assert "Traceback" not in response.content.decode()


def test_cancel_of_a_finished_job_is_409(admin_client, django_capture_on_commit_callbacks):
    zone = Zone.objects.create(name="z")
    with django_capture_on_commit_callbacks(execute=True):
        job = admin_client.delete(f"/api/v1/zones/{zone.uuid}/").json()["job"]
    response = admin_client.post(f"/api/v1/jobs/{job['uuid']}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "INVALID_STATE"


def test_jobs_are_tenant_scoped(admin_client, tenant_client, django_capture_on_commit_callbacks):
    zone = Zone.objects.create(name="z")
    with django_capture_on_commit_callbacks(execute=True):
        job = admin_client.delete(f"/api/v1/zones/{zone.uuid}/").json()["job"]
    assert tenant_client.get(f"/api/v1/jobs/{job['uuid']}/").status_code == 404
    assert tenant_client.get("/api/v1/jobs/").json()["count"] == 0
    assert admin_client.get("/api/v1/jobs/", {"q": "state=succeeded"}).json()["count"] == 1


def test_openapi_schema_and_docs_are_served(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/zones/", "/api/v1/clusters/{uuid}/disable/", "/api/v1/jobs/{uuid}/cancel/",
                 "/api/v1/auth/login/", "/api/v1/tags/", "/api/v1/audit-logs/"):
        assert path in paths, path
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content  # served offline
    browsable = admin_client.get("/api/v1/zones/", HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200 and b"<html" in browsable.content


def test_openapi_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/global-configs/{category}/{name}/" in (tmp_path / "schema.yml").read_text()


def test_global_configs_have_no_uuid_detail_route(admin_client):
    response = admin_client.get("/api/v1/global-configs/00000000000000000000000000000000/")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_csv_of_an_empty_list_still_has_its_header(admin_client):
    response = admin_client.get("/api/v1/zones/", {"format": "csv", "q": "name=nothing-matches",
                                                   "fields": "uuid,name,state"})
    assert response.status_code == 200
    assert response.content.decode().strip() == "uuid,name,state"


def test_change_log_before_image_is_built_only_when_a_loaded_row_is_saved():
    from apps.infra.models import Zone

    Zone.objects.create(name="z-before", description="first")
    listed = list(Zone.objects.all())
    assert all("_snapshot_data" not in zone.__dict__ for zone in listed)  # reading costs no snapshot
    zone = Zone.objects.get(name="z-before")
    zone.description = "second"  # changed in memory before the save: the before-image is the loaded row
    zone.save()
    change = ChangeLog.objects.filter(resource_uuid=zone.uuid, action="update").get()
    assert change.before == {"description": "first"} and change.after == {"description": "second"}


def test_an_audit_row_takes_the_client_address_only_when_it_is_one(admin_client):
    """X-Forwarded-For is the client's to send: what is not an IP address is not written into the
    row's address column (MariaDB refused it: the request lost its audit row)."""
    for forwarded, expected in (("203.0.113.9, 10.0.0.1", "203.0.113.9"), ("not-an-address" * 4, None)):
        response = admin_client.post("/api/v1/zones/", {"name": f"z-{expected}"}, format="json",
                                     HTTP_X_FORWARDED_FOR=forwarded)
        assert response.status_code == 201, response.content
        log = AuditLog.objects.get(resource_uuid=response.json()["uuid"])
        assert log.client_ip == expected and log.status_code == 201

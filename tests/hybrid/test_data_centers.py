"""Data centres and identity zones (H2, H11) against the emulator: a region of a key added as a
data centre syncs its zones and instances (a job); a sync imports new, updates changed and marks
gone instances, and writes nothing when nothing changed; the periodic sync on beat; deleting a data
centre deletes it here only."""
import time
from datetime import timedelta

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from django.utils import timezone

from apps.core.models import AuditLog, ChangeLog, Job, ResourceConfig
from apps.core.testing import client_for, make_account
from apps.hybrid.models import AlibabaDataCenter, AlibabaIdentityZone, EcsInstance
from apps.hybrid.periodic import sync_due_data_centers
from tests.emulator.conftest import sdk_config
from tests.hybrid.network import instance_network

pytestmark = pytest.mark.django_db
CENTERS = "/api/v1/alibaba-data-centers/"


def run_in_cloud(emulator, count=1, name="outside", zone="cn-hangzhou-h"):
    """Instances made in the cloud behind the portal's back (the SDK, straight to the emulator)."""
    client = EcsClient(sdk_config(emulator))
    network = instance_network(zone)
    answer = client.run_instances(ecs_models.RunInstancesRequest(
        region_id="cn-hangzhou", zone_id=zone, instance_type="ecs.g7.large",
        image_id="aliyun_3_x64_20G_alibase_20240819.vhd", instance_name=name, amount=count,
        v_switch_id=network.get("v_switch_id"), security_group_id=network.get("security_group_id")))
    return answer.body.instance_id_sets.instance_id_set, client


def settled(emulator, timeout=10):
    """Wait until every instance in the cloud is Running or Stopped."""
    deadline = time.monotonic() + timeout
    while any(r["Status"] not in ("Running", "Stopped") for r in emulator.table("instances").values()):
        assert time.monotonic() < deadline, emulator.table("instances")
        time.sleep(0.1)


def rows(data_center):
    return {row.instance_id: row for row in EcsInstance.objects.filter(data_center__uuid=data_center["uuid"])}


def test_adding_a_region_syncs_its_zones_and_instances(hybrid):
    ids, _ = run_in_cloud(hybrid.emulator, count=2)
    hybrid.add_key()
    center = hybrid.add_data_center("cn-hangzhou", time_zone="Asia/Shanghai")
    assert center["region_id"] == "cn-hangzhou" and center["local_name"] and center["time_zone"] == "Asia/Shanghai"
    detail = hybrid.client.get(f"{CENTERS}{center['uuid']}/").json()
    assert detail["last_synced_at"] is not None
    zones = hybrid.client.get("/api/v1/alibaba-identity-zones/", {"q": f"data_center_uuid={center['uuid']}"}).json()
    assert {z["zone_id"] for z in zones["results"]} >= {"cn-hangzhou-h", "cn-hangzhou-i"}
    assert all(z["state"] == "Available" and z["available_instance_types"] for z in zones["results"])
    assert all(z["name"] == z["zone_id"] and z["local_name"] for z in zones["results"])
    listed = hybrid.client.get("/api/v1/ecs-instances/", {"q": f"data_center_uuid={center['uuid']}"}).json()
    assert {i["instance_id"] for i in listed["results"]} == set(ids)
    one = listed["results"][0]
    assert one["zone_id"] == "cn-hangzhou-h" and one["instance_type"] == "ecs.g7.large"
    assert one["cpu_num"] == 2 and one["memory_size"] == 8 << 30 and one["name"] == "outside"
    assert one["state"] in ("Pending", "Starting", "Running") and one["time_zone"] == "Asia/Shanghai"


def test_a_data_centre_abroad_takes_its_regions_time_zone_unless_told(hybrid):
    hybrid.add_key()
    assert hybrid.add_data_center("eu-central-1")["time_zone"] == "Europe/Berlin"
    assert hybrid.add_data_center("cn-shanghai")["time_zone"] == "Asia/Shanghai"
    assert hybrid.add_data_center("us-west-1", time_zone="UTC")["time_zone"] == "UTC"


def test_a_region_the_cloud_has_not_and_a_bad_time_zone_are_refused(hybrid):
    hybrid.add_key()
    answer = hybrid.client.post(CENTERS, {"region_id": "xx-nowhere-1"}, format="json")
    assert answer.status_code == 400 and "region_id" in answer.json()["details"]
    answer = hybrid.client.post(CENTERS, {"region_id": "cn-hangzhou", "time_zone": "Mars/Olympus"}, format="json")
    assert answer.status_code == 400 and "time_zone" in answer.json()["details"]
    assert not AlibabaDataCenter.objects.exists()


def test_a_sync_imports_new_updates_changed_marks_deleted_and_writes_nothing_when_nothing_changed(hybrid):
    hybrid.add_key()
    [first], client = run_in_cloud(hybrid.emulator, name="first")
    center = hybrid.add_data_center()
    sync = f"{CENTERS}{center['uuid']}/sync/"
    [second], _ = run_in_cloud(hybrid.emulator, name="second")
    client.modify_instance_attribute(ecs_models.ModifyInstanceAttributeRequest(instance_id=first,
                                                                              instance_name="first-renamed"))
    settled(hybrid.emulator)
    job = hybrid.job(hybrid.post(sync))
    assert job["state"] == "succeeded", job
    found = rows(center)
    assert set(found) == {first, second} and found[first].name == "first-renamed"
    assert {row.state for row in found.values()} == {"Running"}

    # the description is the portal's once the row is here: a sync leaves it
    row = EcsInstance.objects.get(instance_id=first)
    assert hybrid.client.patch(f"/api/v1/ecs-instances/{row.uuid}/", {"description": "ours"},
                               format="json").status_code == 200
    assert hybrid.job(hybrid.post(sync))["state"] == "succeeded"
    assert EcsInstance.objects.get(instance_id=first).description == "ours"

    # nothing changed in the cloud: no row written, no updated_at moved, no change log
    before = {row.instance_id: row.updated_at for row in EcsInstance.objects.all()}
    changes = ChangeLog.objects.count()
    job = hybrid.job(hybrid.post(sync))
    assert job["state"] == "succeeded"
    counts = {kind["kind"]: kind for kind in job["result"]["kinds"]}
    assert counts["EcsInstance"]["updated"] == counts["EcsInstance"]["imported"] == 0
    assert counts["EcsInstance"]["unchanged"] == 2 and counts["AlibabaIdentityZone"]["updated"] == 0
    assert {row.instance_id: row.updated_at for row in EcsInstance.objects.all()} == before
    assert ChangeLog.objects.count() == changes

    # deleted in the cloud behind the portal's back: the next sync marks it Deleted (kept, shown)
    client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=second, force=True))
    assert hybrid.job(hybrid.post(sync))["state"] == "succeeded"
    found = rows(center)
    assert found[second].state == "Deleted" and found[first].state == "Running"
    gone = hybrid.client.get("/api/v1/ecs-instances/", {"q": "state=Deleted"}).json()["results"]
    assert [row["instance_id"] for row in gone] == [second]
    # deleting it here deletes the row only (the cloud has it not)
    job = hybrid.job(_delete(hybrid, gone[0]["uuid"]))
    assert job["state"] == "succeeded", job
    assert set(rows(center)) == {first}


def _delete(hybrid, uuid):
    with hybrid.capture(execute=True):
        return hybrid.client.delete(f"/api/v1/ecs-instances/{uuid}/")


def test_a_failed_listing_changes_nothing_and_says_what_the_cloud_said(hybrid):
    hybrid.add_key()
    run_in_cloud(hybrid.emulator)
    center = hybrid.add_data_center()
    before = {row.instance_id: row.updated_at for row in EcsInstance.objects.all()}
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "DescribeInstances", "code": "InternalError",
                                             "message": "The request processing has failed.", "http_status": 500})
    job = hybrid.job(hybrid.post(f"{CENTERS}{center['uuid']}/sync/"))
    assert job["state"] == "failed" and job["error"]["code"] == "ALIBABA_SERVICE_ERROR", job
    assert job["error"]["details"]["cloud_code"] == "InternalError" and "Traceback" not in str(job)
    assert {row.instance_id: row.updated_at for row in EcsInstance.objects.all()} == before


def test_the_periodic_sync_follows_the_interval_of_each_data_center(hybrid):
    hybrid.add_key()
    center = hybrid.add_data_center()
    data_center = AlibabaDataCenter.objects.get(uuid=center["uuid"])
    assert sync_due_data_centers() == {"syncing": 0}   # synced just now, when it was added
    later = timezone.now() + timedelta(seconds=601)
    records = (AuditLog.objects.count(), ChangeLog.objects.count(), data_center.updated_at)
    with hybrid.capture(execute=True):
        assert sync_due_data_centers(now=later) == {"syncing": 1}
    data_center.refresh_from_db()
    # nothing changed in the cloud: the beat's sync leaves no audit row, no change log, no update
    assert (AuditLog.objects.count(), ChangeLog.objects.count(), data_center.updated_at) == records
    assert Job.objects.filter(resource_uuid=data_center.uuid, flow="sync-alibaba-data-center").count() == 2
    ResourceConfig.objects.create(category="hybrid", name="syncInterval", resource_type="AlibabaDataCenter",
                                  resource_uuid=data_center.uuid, value=0)   # this one: only when asked
    assert sync_due_data_centers(now=later + timedelta(days=1)) == {"syncing": 0}


def test_deleting_a_data_center_deletes_it_here_only(hybrid):
    hybrid.add_key()
    [instance], _ = run_in_cloud(hybrid.emulator)
    center = hybrid.add_data_center()
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{CENTERS}{center['uuid']}/")
    assert hybrid.job(answer)["state"] == "succeeded"
    assert not AlibabaDataCenter.objects.exists() and not EcsInstance.objects.exists()
    assert instance in hybrid.instances()   # still in the cloud


def test_each_account_sees_its_own_data_centers(hybrid):
    hybrid.add_key()
    center = hybrid.add_data_center()
    tenant = client_for(make_account("tenant-h2"))
    assert tenant.get(CENTERS).json()["count"] == 0
    assert tenant.get(f"{CENTERS}{center['uuid']}/").status_code == 404
    assert tenant.post(f"{CENTERS}{center['uuid']}/sync/").status_code == 404
    assert tenant.get("/api/v1/alibaba-identity-zones/").json()["count"] == 0
    # a tenant without a key is told to add one
    answer = tenant.post(CENTERS, {"region_id": "cn-hangzhou"}, format="json")
    assert answer.status_code == 400 and "access_key_uuid" in answer.json()["details"]


def test_a_key_revoked_in_the_cloud_fails_the_sync_with_the_clouds_code_and_changes_nothing(hybrid):
    key_id = "LTAI5tRevokedLater000000"
    hybrid.emulator.admin("POST", "keys", {"access_key_id": key_id, "access_key_secret": "revoked-secret",
                                           "account": "1688000000000003"})
    key = hybrid.add_key(key_id, "revoked-secret", name="soon-revoked")
    center = hybrid.add_data_center(access_key_uuid=key["uuid"])
    zones = {z.uuid: z.updated_at for z in AlibabaIdentityZone.objects.all()}
    hybrid.emulator.admin("DELETE", "keys", {"access_key_id": key_id})
    job = hybrid.job(hybrid.post(f"{CENTERS}{center['uuid']}/sync/"))
    assert job["state"] == "failed" and job["error"]["code"] == "ALIBABA_AUTH_FAILED", job
    assert job["error"]["details"]["cloud_code"] == "InvalidAccessKeyId.NotFound"
    assert {z.uuid: z.updated_at for z in AlibabaIdentityZone.objects.all()} == zones
    assert "revoked-secret" not in str(job)


def test_a_data_centre_moves_to_another_key_of_its_account(hybrid, cloud):
    cloud.admin("POST", "keys", {"access_key_id": "LTAI5tRotatedKey00000000", "access_key_secret": "rotated"})
    old = hybrid.add_key()
    center = hybrid.add_data_center()
    new = hybrid.add_key("LTAI5tRotatedKey00000000", "rotated", name="rotated")
    used = hybrid.client.delete(f"/api/v1/alibaba-access-keys/{old['uuid']}/")
    assert used.status_code == 409 and center["uuid"] in used.content.decode()   # its data centre first
    answer = hybrid.client.patch(f"{CENTERS}{center['uuid']}/", {"access_key_uuid": new["uuid"]}, format="json")
    assert answer.status_code == 200 and answer.json()["access_key_uuid"] == new["uuid"], answer.content
    assert hybrid.job(hybrid.post(f"{CENTERS}{center['uuid']}/sync/"))["state"] == "succeeded"
    with hybrid.capture(execute=True):
        deleted = hybrid.client.delete(f"/api/v1/alibaba-access-keys/{old['uuid']}/")
    assert hybrid.job(deleted)["state"] == "succeeded"
    foreign = client_for(make_account("tenant-rotate"))
    theirs = foreign.post("/api/v1/alibaba-access-keys/", {"name": "t", "access_key_id": "LTAI5tRotatedKey00000000",
                                                            "access_key_secret": "rotated"}, format="json").json()
    answer = hybrid.client.patch(f"{CENTERS}{center['uuid']}/", {"access_key_uuid": theirs["uuid"]}, format="json")
    assert answer.status_code == 400 and "access_key_uuid" in answer.json()["details"]


def test_a_throttling_burst_during_a_sync_is_waited_out(hybrid):
    hybrid.add_key()
    run_in_cloud(hybrid.emulator, count=3)
    hybrid.emulator.admin("POST", "throttle", {"product": "Ecs", "action": "*", "times": 3, "retry_after": 0.05})
    center = hybrid.add_data_center()
    assert EcsInstance.objects.filter(data_center__uuid=center["uuid"]).count() == 3

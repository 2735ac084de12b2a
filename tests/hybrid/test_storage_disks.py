"""ECS data disks (H6) through the portal's API against the emulator, its state checked after each
operation: create (pay-as-you-go in a zone, subscription for a subscription instance), attach,
rename, detach, charge type, delete; a failure after the create leaves no disk in the cloud and no
row; wrong states; sync; tenancy."""
import time

import pytest

from apps.core.testing import client_for, make_account
from apps.hybrid.cloud import Cloud
from apps.hybrid.models import EcsDisk
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.test_ecs_instances import created as created_instance
from tests.ui.pages import browser, text

pytestmark = pytest.mark.django_db
DISKS = "/api/v1/ecs-disks/"
GIB = 1 << 30


@pytest.fixture
def zone(hybrid):
    hybrid.add_key()
    return hybrid.zone(hybrid.add_data_center(time_zone="Asia/Shanghai"), "cn-hangzhou-h")


def disks(hybrid):
    """The emulator's data disks of the demo account in cn-hangzhou: {DiskId: record}."""
    return {k: v for k, v in hybrid.emulator.table("disks").items() if v.get("Type") == "data"}


def create(hybrid, zone, **extra):
    return hybrid.post(DISKS, {"name": "data-1", "identity_zone_uuid": zone["uuid"], "size": 40 * GIB,
                               "category": "cloud_essd", **extra})


def created(hybrid, zone, **extra):
    response = create(hybrid, zone, **extra)
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    return detail(hybrid, response.json()["resource"])


def detail(hybrid, disk):
    return hybrid.client.get(f"{DISKS}{disk['uuid']}/").json()


def act(hybrid, disk, name, body=None):
    return hybrid.job(hybrid.post(f"{DISKS}{disk['uuid']}/{name}/", body))


def delete(hybrid, disk):
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{DISKS}{disk['uuid']}/")
    return hybrid.job(answer)


def test_create_attach_rename_detach_and_delete_a_data_disk(hybrid, zone, admin_user):
    disk = created(hybrid, zone, description="logs")
    assert disk["state"] == "Available" and disk["disk_id"].startswith("d-") and disk["size"] == 40 * GIB
    assert (disk["zone_id"], disk["category"], disk["disk_charge_type"]) == ("cn-hangzhou-h", "cloud_essd", "PostPaid")
    record = disks(hybrid)[disk["disk_id"]]
    assert (record["Size"], record["Category"], record["ZoneId"], record["DiskName"]) == \
        (40, "cloud_essd", "cn-hangzhou-h", "data-1")
    assert {"TagKey": "cloudportal:uuid", "TagValue": disk["uuid"]} in record["Tags"]["Tag"]

    instance = created_instance(hybrid, zone)
    job = act(hybrid, disk, "attach", {"ecs_instance_uuid": instance["uuid"]})
    assert job["state"] == "succeeded", job
    disk = detail(hybrid, disk)
    assert disk["state"] == "In_use" and disk["instance_id"] == instance["instance_id"]
    assert disk["ecs_instance_uuid"] == instance["uuid"] and disk["device"].startswith("/dev/xvd")
    assert disks(hybrid)[disk["disk_id"]]["InstanceId"] == instance["instance_id"]
    page = text(browser(admin_user).get(f"/ui/ecs-instances/{instance['uuid']}/"))
    assert "Data disks" in page and disk["disk_id"] in page   # the instance's page lists it

    refused = hybrid.client.post(f"{DISKS}{disk['uuid']}/attach/", {"ecs_instance_uuid": instance["uuid"]},
                                 format="json")
    assert refused.status_code == 409 and refused.json()["details"]["state"] == "In_use"
    with hybrid.capture(execute=True):
        in_use = hybrid.client.delete(f"{DISKS}{disk['uuid']}/")
    assert in_use.status_code == 409 and in_use.json()["details"]["state"] == "In_use"

    assert act(hybrid, disk, "rename", {"name": "data-renamed"})["state"] == "succeeded"
    assert disks(hybrid)[disk["disk_id"]]["DiskName"] == "data-renamed" and detail(hybrid, disk)["name"] == \
        "data-renamed"

    assert act(hybrid, disk, "detach")["state"] == "succeeded"
    assert disks(hybrid)[disk["disk_id"]]["Status"] == "Available"
    assert detail(hybrid, disk)["state"] == "Available" and detail(hybrid, disk)["instance_id"] == ""

    job = delete(hybrid, disk)
    assert job["state"] == "succeeded", job
    assert disk["disk_id"] not in disks(hybrid) and not EcsDisk.objects.exists()


def test_a_subscription_disk_is_made_attached_and_its_charge_type_changes(hybrid, zone):
    instance = created_instance(hybrid, zone, instance_charge_type="PrePaid")
    refused = hybrid.client.post(DISKS, {"name": "sub", "size": 20 * GIB, "disk_charge_type": "PrePaid"},
                                 format="json")
    assert refused.status_code == 400 and "ecs_instance_uuid" in refused.json()["details"]
    disk = created(hybrid, zone, identity_zone_uuid=None, disk_charge_type="PrePaid",
                   ecs_instance_uuid=instance["uuid"])
    assert disk["state"] == "In_use" and disk["disk_charge_type"] == "PrePaid" and not disk["portable"]
    assert disks(hybrid)[disk["disk_id"]]["InstanceId"] == instance["instance_id"]

    assert act(hybrid, disk, "charge-type", {"disk_charge_type": "PostPaid"})["state"] == "succeeded"
    assert disks(hybrid)[disk["disk_id"]]["DiskChargeType"] == "PostPaid"
    assert detail(hybrid, disk)["disk_charge_type"] == "PostPaid" and detail(hybrid, disk)["portable"]


def fail_the_wait(hybrid):
    """The cloud fails the next DescribeDisks: the create's first one, its wait for the disk made
    (CreateDisk's ClientToken is its look before the create)."""
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "DescribeDisks", "code": "InternalError",
                                             "http_status": 500, "times": 1})


def test_a_failure_after_the_create_deletes_the_disk_made(hybrid, zone):
    fail_the_wait(hybrid)
    job = hybrid.job(create(hybrid, zone))
    assert job["state"] == "failed" and job["error"]["step"] == "WaitDiskMade", job
    steps = {step["name"]: step["state"] for step in job["steps"]}
    assert steps["CreateDiskInCloud"] == "rolled_back" and steps["RecordEcsDisk"] == "rolled_back"
    assert disks(hybrid) == {} and not EcsDisk.objects.exists()


def test_a_failed_subscription_create_detaches_and_deletes_the_disk(hybrid, zone):
    instance = created_instance(hybrid, zone, instance_charge_type="PrePaid")
    fail_the_wait(hybrid)
    job = hybrid.job(create(hybrid, zone, identity_zone_uuid=None, disk_charge_type="PrePaid",
                            ecs_instance_uuid=instance["uuid"]))
    assert job["state"] == "failed" and "rollback_failures" not in job["error"].get("details", {}), job
    assert disks(hybrid) == {} and not EcsDisk.objects.exists()


def test_the_clouds_refusal_is_the_portals_error_and_the_disk_stays(hybrid, zone):
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "CreateDisk", "code": "QuotaExceed.Disk",
                                             "http_status": 403, "times": 1})
    job = hybrid.job(create(hybrid, zone))
    assert job["error"]["code"] == "ALIBABA_QUOTA_EXCEEDED" and job["error"]["details"]["cloud_code"] == \
        "QuotaExceed.Disk"
    assert disks(hybrid) == {} and not EcsDisk.objects.exists()
    bad = hybrid.client.post(DISKS, {"name": "x", "identity_zone_uuid": zone["uuid"], "size": GIB + 1}, format="json")
    assert bad.status_code == 400 and "size" in bad.json()["details"]


def test_sync_imports_a_disk_made_outside_and_notices_it_deleted(hybrid, zone):
    hybrid.emulator.admin("POST", "timing", {"transition_seconds": 0.01})
    cloud = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
    disk_id = cloud.ecs("CreateDisk", {"ZoneId": "cn-hangzhou-i", "Size": 100, "DiskCategory": "cloud_ssd",
                                       "DiskName": "outside"})["DiskId"]
    center = EcsDisk._meta.get_field("data_center").related_model.objects.get()
    time.sleep(0.05)   # Creating -> Available
    assert hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center.uuid}/sync/"))["state"] == "succeeded"
    row = EcsDisk.objects.get(disk_id=disk_id)
    assert (row.name, row.size, row.category, row.identity_zone.zone_id) == ("outside", 100 * GIB, "cloud_ssd",
                                                                            "cn-hangzhou-i")
    again = hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center.uuid}/sync/"))
    [counts] = [kind for kind in again["result"]["kinds"] if kind["kind"] == "EcsDisk"]
    assert (counts["imported"], counts["updated"], counts["unchanged"]) == (0, 0, 1)   # nothing written
    cloud.ecs("DeleteDisk", {"DiskId": disk_id})
    hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center.uuid}/sync/"))
    assert EcsDisk.objects.get(disk_id=disk_id).state == "Deleted"
    assert delete(hybrid, {"uuid": row.uuid})["state"] == "succeeded" and not EcsDisk.objects.exists()


def test_each_account_sees_and_acts_on_its_own_disks(hybrid, zone):
    disk = created(hybrid, zone)
    tenant = client_for(make_account("tenant-h6"))
    assert tenant.get(DISKS).json()["count"] == 0
    assert tenant.post(f"{DISKS}{disk['uuid']}/rename/", {"name": "mine"}, format="json").status_code == 404
    answer = tenant.post(DISKS, {"name": "x", "identity_zone_uuid": zone["uuid"], "size": 20 * GIB}, format="json")
    assert answer.status_code == 400 and "identity_zone_uuid" in answer.json()["details"]


def test_a_disk_the_rollback_could_not_delete_keeps_its_row_for_the_next_sync(hybrid, zone):
    fail_the_wait(hybrid)
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "DeleteDisk", "code": "InternalError",
                                             "http_status": 500, "times": 1})
    job = hybrid.job(create(hybrid, zone))
    assert job["state"] == "failed", job
    [failure] = job["error"]["details"]["rollback_failures"]
    assert failure["step"] == "CreateDiskInCloud"
    [left] = disks(hybrid)
    row = EcsDisk.objects.get()
    assert row.disk_id == left and row.busy_job is None   # kept, named, free for the operator
    center = row.data_center
    assert hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center.uuid}/sync/"))["state"] == "succeeded"
    row.refresh_from_db()
    assert row.state == "Available" and EcsDisk.objects.count() == 1

"""ECS instances (H3) through the portal's API against the emulator, its state checked after each
operation: create (one, a batch), start, stop, reboot, rename, password, charge type, VNC, describe,
delete; data disks and an EIP made with it; a failure injected at each step of the create leaves
no instance, disk or EIP in the cloud and no row;
the cloud's refusals (stock, quota, wrong state) as the portal's errors; tenancy."""
import pytest

from apps.core.errors import CloudPortalError
from apps.core.models import Job
from apps.core.testing import client_for, make_account
from apps.hybrid.flows import CREATE_ECS_INSTANCE_WITH_EIP
from apps.hybrid.models import AlibabaEip, EcsInstance
from tests.hybrid.network import instance_network

pytestmark = pytest.mark.django_db
ECS = "/api/v1/ecs-instances/"
IMAGE = "aliyun_3_x64_20G_alibase_20240819.vhd"
PASSWORD = "Cloud-Portal-42"


@pytest.fixture
def zone(hybrid):
    hybrid.add_key()
    return hybrid.zone(hybrid.add_data_center(time_zone="Asia/Shanghai"), "cn-hangzhou-h")


def create(hybrid, zone, **extra):
    body = {"name": "web", "identity_zone_uuid": zone["uuid"], "instance_type": "ecs.g7.large",
            "image_id": IMAGE, **instance_network(zone["zone_id"]), **extra}
    return hybrid.post(ECS, body)


def created(hybrid, zone, **extra):
    response = create(hybrid, zone, **extra)
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    return hybrid.client.get(f"{ECS}{response.json()['resource']['uuid']}/").json()


def act(hybrid, instance, name, body=None):
    return hybrid.job(hybrid.post(f"{ECS}{instance['uuid']}/{name}/", body))


def test_create_waits_for_running_and_mirrors_the_cloud(hybrid, zone):
    instance = created(hybrid, zone, password=PASSWORD, internet_max_bandwidth_out=5, description="front")
    assert instance["state"] == "Running" and instance["instance_id"].startswith("i-")
    [record] = hybrid.instances().values()
    assert record["InstanceId"] == instance["instance_id"] and record["Status"] == "Running"
    assert record["InstanceName"] == "web" and record["ZoneId"] == "cn-hangzhou-h"
    assert {"TagKey": "cloudportal:uuid", "TagValue": instance["uuid"]} in record["Tags"]["Tag"]
    assert (instance["cpu_num"], instance["memory_size"]) == (2, 8 << 30)
    assert instance["zone_id"] == "cn-hangzhou-h" and instance["region_id"] == "cn-hangzhou"
    assert instance["private_ips"] and instance["remote_created_at"] and instance["time_zone"] == "Asia/Shanghai"
    job = Job.objects.get(resource_uuid=instance["uuid"])
    assert PASSWORD not in str(job.args) and PASSWORD not in str(job.context)   # encrypted in the job
    described = hybrid.client.get(f"{ECS}{instance['uuid']}/describe/").json()
    assert described["InstanceId"] == instance["instance_id"] and described["Status"] == "Running"


def test_create_with_data_disks_and_an_eip(hybrid, zone):
    instance = created(hybrid, zone, data_disk_sizes=[40, 100], data_disk_category="cloud_ssd", eip_bandwidth=5)
    [eip] = hybrid.emulator.table("eips").values()
    assert (eip["Status"], eip["InstanceId"], str(eip["Bandwidth"])) == ("InUse", instance["instance_id"], "5"), eip
    assert instance["eip_address"] == eip["IpAddress"]
    row = AlibabaEip.objects.get()
    assert (row.allocation_id, row.state, str(row.ecs_instance.uuid)) == (eip["AllocationId"], "InUse",
                                                                           instance["uuid"])
    data = [d for d in hybrid.emulator.table("disks").values() if d["Type"] == "data"]
    assert sorted((d["Size"], d["Category"], d["InstanceId"], d["DeleteWithInstance"]) for d in data) == [
        (40, "cloud_ssd", instance["instance_id"], True), (100, "cloud_ssd", instance["instance_id"], True)]

    # deleted: its disks go with it, its EIP is let go (and says so here at once) and can be released
    assert delete(hybrid, f"{ECS}{instance['uuid']}/")["state"] == "succeeded"
    assert hybrid.emulator.table("disks") == {}
    row.refresh_from_db()
    assert (row.state, row.instance_id, row.ecs_instance) == ("Available", "", None)
    assert delete(hybrid, f"/api/v1/alibaba-eips/{row.uuid}/")["state"] == "succeeded"
    assert hybrid.emulator.table("eips") == {}


def delete(hybrid, url):
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(url)
    return hybrid.job(answer)


def test_a_batch_makes_one_instance_and_one_job_each(hybrid, zone):
    response = create(hybrid, zone, count=3)
    assert response.status_code == 202, response.content
    body = response.json()
    assert len(body["jobs"]) == 3 and [r["name"] for r in body["resources"]] == ["web-1", "web-2", "web-3"]
    for job in body["jobs"]:
        assert hybrid.client.get(f"/api/v1/jobs/{job['uuid']}/").json()["state"] == "succeeded"
    records = hybrid.instances()
    assert sorted(r["InstanceName"] for r in records.values()) == ["web-1", "web-2", "web-3"]
    assert {r["Status"] for r in records.values()} == {"Running"}
    assert set(EcsInstance.objects.values_list("instance_id", flat=True)) == set(records)


def test_stop_start_reboot_rename_password_charge_type_vnc_and_delete(hybrid, zone):
    instance = created(hybrid, zone)
    instance_id = instance["instance_id"]

    def remote():
        return hybrid.instances()[instance_id]

    assert act(hybrid, instance, "stop")["state"] == "succeeded"
    assert remote()["Status"] == "Stopped"
    assert hybrid.client.get(f"{ECS}{instance['uuid']}/").json()["state"] == "Stopped"
    refused = hybrid.client.post(f"{ECS}{instance['uuid']}/reboot/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["details"]["state"] == "Stopped"

    assert act(hybrid, instance, "start")["state"] == "succeeded"
    assert remote()["Status"] == "Running"
    assert act(hybrid, instance, "reboot", {"force": True})["state"] == "succeeded"
    assert remote()["Status"] == "Running"

    assert act(hybrid, instance, "rename", {"name": "web-renamed"})["state"] == "succeeded"
    assert remote()["InstanceName"] == "web-renamed"
    assert hybrid.client.get(f"{ECS}{instance['uuid']}/").json()["name"] == "web-renamed"

    weak = hybrid.client.post(f"{ECS}{instance['uuid']}/change-password/", {"password": "short"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["details"]
    job = act(hybrid, instance, "change-password", {"password": PASSWORD})
    assert job["state"] == "succeeded" and PASSWORD not in str(Job.objects.get(uuid=job["uuid"]).args)

    assert act(hybrid, instance, "charge-type", {"instance_charge_type": "PrePaid", "period": 1})["state"] == \
        "succeeded"
    assert remote()["InstanceChargeType"] == "PrePaid"
    assert hybrid.client.get(f"{ECS}{instance['uuid']}/").json()["instance_charge_type"] == "PrePaid"

    assert act(hybrid, instance, "vnc-password", {"password": "Ab12cd"})["state"] == "succeeded"
    vnc = hybrid.client.post(f"{ECS}{instance['uuid']}/vnc-url/")
    assert vnc.status_code == 200 and vnc.json()["vnc_url"].startswith("wss://")
    assert instance_id in vnc.json()["console_url"]

    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{ECS}{instance['uuid']}/")
    job = hybrid.job(answer)
    assert job["state"] == "succeeded", (job["error"], job["steps"])
    assert instance_id not in hybrid.instances() and not EcsInstance.objects.exists()


@pytest.mark.parametrize("action, http_status, code, step", [
    ("RunInstances", 403, "OperationDenied.NoStock", "RunEcsInstance"),   # the call itself
    ("DescribeInstances", 500, "InternalError", "WaitEcsRunning"),        # the wait after it
])
def test_a_failed_create_leaves_nothing_in_the_cloud_and_no_row(hybrid, zone, action, http_status, code, step):
    hybrid.emulator.admin("POST", "timing", {"transition_seconds": 0.5})   # the instance made is still moving
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": action, "code": code,
                                             "http_status": http_status, "times": 1})
    job = hybrid.job(create(hybrid, zone))
    assert job["state"] == "failed" and job["error"]["step"] == step, job
    assert job["error"]["details"]["cloud_code"] == code and "Traceback" not in str(job)
    steps = {one["name"]: one for one in job["steps"]}
    assert steps["RecordEcsInstance"]["state"] == "rolled_back"
    assert hybrid.instances() == {} and not EcsInstance.objects.exists()


def test_retrying_run_instances_makes_one_instance(hybrid, zone):
    """The same ClientToken twice (a step tried again): the cloud answers the instance it made."""
    from apps.hybrid.cloud import Cloud
    from apps.hybrid.models import AlibabaDataCenter

    cloud = Cloud.of(AlibabaDataCenter.objects.get())
    params = {"ZoneId": "cn-hangzhou-h", "InstanceType": "ecs.g7.large", "ImageId": IMAGE, "Amount": 1,
              "ClientToken": "job-0001", **{k: v for k, v in (("VSwitchId", instance_network().get("v_switch_id")),
                                                             ("SecurityGroupId",
                                                              instance_network().get("security_group_id"))) if v}}
    first = cloud.ecs("RunInstances", params)["InstanceIdSets"]["InstanceIdSet"]
    again = cloud.ecs("RunInstances", params)["InstanceIdSets"]["InstanceIdSet"]
    assert first == again and list(hybrid.instances()) == first


def test_a_rollback_the_cloud_refuses_is_recorded_and_the_row_shows_what_was_left(hybrid, zone):
    for action in ("DescribeInstances", "DeleteInstance"):   # the wait, then the rollback's delete
        hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": action, "code": "InternalError",
                                                 "http_status": 500, "times": 1})
    response = create(hybrid, zone)
    job = hybrid.job(response)
    assert job["state"] == "failed", job
    [failure] = job["error"]["details"]["rollback_failures"]
    assert failure["step"] == "RunEcsInstance" and failure["code"] == "ALIBABA_SERVICE_ERROR"
    [left] = hybrid.instances()
    row = hybrid.client.get(f"{ECS}{response.json()['resource']['uuid']}/").json()
    assert row["instance_id"] == left and row["state"] == "Pending"   # shown at once, not hidden
    center = row["data_center_uuid"]
    assert hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center}/sync/"))["state"] == "succeeded"
    assert hybrid.client.get(f"{ECS}{row['uuid']}/").json()["state"] == "Running"   # the sync's, as any
    with hybrid.capture(execute=True):
        deleted = hybrid.client.delete(f"{ECS}{row['uuid']}/")
    assert hybrid.job(deleted)["state"] == "succeeded" and hybrid.instances() == {}


def test_quota_and_stock_are_422_with_the_clouds_code(hybrid, zone):
    hybrid.emulator.admin("POST", "stock", {"region": "cn-hangzhou", "zone": "cn-hangzhou-h",
                                            "instance_type": "ecs.g7.large", "available": False})
    job = hybrid.job(create(hybrid, zone))
    assert job["error"]["code"] == "ALIBABA_NO_STOCK" and job["error"]["details"]["cloud_code"] == \
        "OperationDenied.NoStock", job
    hybrid.emulator.admin("POST", "stock", {"region": "cn-hangzhou", "zone": "cn-hangzhou-h",
                                            "instance_type": "ecs.g7.large", "available": True})
    hybrid.emulator.admin("POST", "quotas", {"region": "cn-hangzhou", "max_instances": 0})
    job = hybrid.job(create(hybrid, zone))
    assert job["error"]["code"] == "ALIBABA_QUOTA_EXCEEDED", job
    assert job["error"]["details"]["cloud_code"].startswith("QuotaExceed")
    assert hybrid.instances() == {} and not EcsInstance.objects.exists()


def test_a_throttled_flow_is_retried_and_succeeds(hybrid, zone):
    hybrid.emulator.admin("POST", "throttle", {"product": "Ecs", "action": "RunInstances", "times": 2,
                                               "retry_after": 0.1})
    instance = created(hybrid, zone)
    assert instance["state"] == "Running" and len(hybrid.instances()) == 1


def test_a_wrong_state_in_the_cloud_is_409_with_its_code(hybrid, zone):
    instance = created(hybrid, zone)
    # stopped behind the portal's back: the portal still says Running, the cloud refuses a reboot
    from tests.hybrid.test_data_centers import settled

    hybrid.emulator.admin("POST", "timing", {"transition_seconds": 0.01})
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client as EcsClient

    from tests.emulator.conftest import sdk_config

    EcsClient(sdk_config(hybrid.emulator)).stop_instance(
        ecs_models.StopInstanceRequest(instance_id=instance["instance_id"]))
    settled(hybrid.emulator)
    job = act(hybrid, instance, "reboot")
    assert job["state"] == "failed" and job["error"]["code"] == "ALIBABA_WRONG_STATE", job
    assert job["error"]["details"]["cloud_code"] == "IncorrectInstanceStatus"
    assert hybrid.client.get(f"{ECS}{instance['uuid']}/").json()["state"] == "Running"   # Begin rolled back


def test_each_account_sees_and_acts_on_its_own_instances(hybrid, zone):
    instance = created(hybrid, zone)
    tenant = client_for(make_account("tenant-h3"))
    assert tenant.get(ECS).json()["count"] == 0
    assert tenant.get(f"{ECS}{instance['uuid']}/").status_code == 404
    assert tenant.post(f"{ECS}{instance['uuid']}/stop/", {}, format="json").status_code == 404
    assert tenant.post(f"{ECS}{instance['uuid']}/vnc-url/").status_code == 404
    answer = tenant.post(ECS, {"name": "x", "identity_zone_uuid": zone["uuid"], "instance_type": "ecs.g7.large",
                               "image_id": IMAGE}, format="json")
    assert answer.status_code == 400 and "identity_zone_uuid" in answer.json()["details"]


class Injected(CloudPortalError):
    code = "INJECTED"


@pytest.mark.parametrize("step", [step.step_name() for step in CREATE_ECS_INSTANCE_WITH_EIP.steps])
def test_a_create_failing_after_any_of_its_steps_leaves_nothing_behind(hybrid, zone, monkeypatch, step):
    """Each step does its work and then fails (the hardest moment for a rollback: what it made
    exists, and for a database step its transaction is undone)."""
    [step_class] = [s for s in CREATE_ECS_INSTANCE_WITH_EIP.steps if s.step_name() == step]
    original = step_class.run

    def run_then_fail(self, ctx):
        original(self, ctx)
        raise Injected(f"injected after {step}")

    monkeypatch.setattr(step_class, "run", run_then_fail)
    job = hybrid.job(create(hybrid, zone, data_disk_sizes=[40], eip_bandwidth=5))
    assert job["state"] == "failed" and job["error"]["code"] == "INJECTED" and job["error"]["step"] == step, job
    assert "rollback_failures" not in job["error"].get("details", {}), job["error"]
    assert hybrid.instances() == {} and not EcsInstance.objects.exists()
    assert hybrid.emulator.table("disks") == {}   # the system and data disks went with the instance
    assert hybrid.emulator.table("eips") == {} and not AlibabaEip.objects.exists()


def test_delete_here_keeps_the_instance_in_the_cloud_and_the_next_sync_brings_it_back(hybrid, zone):
    instance = created(hybrid, zone)
    job = act(hybrid, instance, "delete-here")
    assert job["state"] == "succeeded", job
    assert not EcsInstance.objects.exists() and instance["instance_id"] in hybrid.instances()
    center = instance["data_center_uuid"]
    assert hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center}/sync/"))["state"] == "succeeded"
    assert list(EcsInstance.objects.values_list("instance_id", flat=True)) == [instance["instance_id"]]


def test_a_normal_account_runs_its_own_instance_end_to_end(cloud, django_capture_on_commit_callbacks):
    from tests.hybrid.conftest import Hybrid

    user = make_account("tenant-ecs")
    tenant = Hybrid(client_for(user), django_capture_on_commit_callbacks, cloud)
    tenant.add_key()
    zone = tenant.zone(tenant.add_data_center(), "cn-hangzhou-i")
    instance = created(tenant, zone, name="mine")
    assert instance["account_uuid"] == str(user.account.uuid) and instance["state"] == "Running"
    assert tenant.instances()[instance["instance_id"]]["ZoneId"] == "cn-hangzhou-i"
    assert act(tenant, instance, "stop")["state"] == "succeeded"
    other = client_for(make_account("tenant-ecs-other"))
    assert other.get(f"{ECS}{instance['uuid']}/").status_code == 404
    admin = client_for(make_account("admin-ecs", admin=True))
    assert admin.get(f"{ECS}{instance['uuid']}/").json()["state"] == "Stopped"


def test_what_a_request_sends_cannot_point_its_job_at_another_instance(hybrid, zone):
    """DELETE takes no body: one naming another row's uuid must not turn the job on that row."""
    doomed, kept = created(hybrid, zone, name="doomed"), created(hybrid, zone, name="kept")
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{ECS}{doomed['uuid']}/", {"instance_uuid": kept["uuid"]}, format="json")
    assert hybrid.job(answer)["state"] == "succeeded"
    assert list(hybrid.instances()) == [kept["instance_id"]]
    assert hybrid.client.get(f"{ECS}{kept['uuid']}/").json()["state"] == "Running"


def test_the_image_may_be_picked_among_the_synced_ones(hybrid, zone):
    from apps.hybrid.models import EcsImage

    image = EcsImage.objects.get(image_id=IMAGE)   # the data centre's sync found the region's system images
    instance = created(hybrid, zone, image_id="", ecs_image_uuid=str(image.uuid))
    assert hybrid.instances()[instance["instance_id"]]["ImageId"] == IMAGE
    neither = create(hybrid, zone, image_id="")
    assert neither.status_code == 400 and "image_id" in neither.json()["details"]
    both = create(hybrid, zone, image_id="centos_7_9_x64_20G_alibase_20240628.vhd", ecs_image_uuid=str(image.uuid))
    assert both.status_code == 400 and "image_id" in both.json()["details"]

"""One view (H12), the list half: an ECS instance is a row of /api/v1/vm-instances/ next to the local
VMs (hypervisor type AlibabaCloud, its zone shown, no host), found with the query language, kept in
step by the syncs and flows, and driven by the VM actions, which run the ECS flows against the
emulator (its state checked)."""
import pytest
from alibabacloud_ecs20140526 import models as ecs_models

from apps.compute.models import VmInstance
from apps.core.testing import client_for, make_account
from apps.hybrid.models import EcsInstance
from tests.hybrid.test_data_centers import run_in_cloud, settled

pytestmark = pytest.mark.django_db
VMS = "/api/v1/vm-instances/"


@pytest.fixture
def synced(hybrid, admin_user):
    """A local VM row, and an instance made in the cloud that the data centre's sync brought in."""
    hybrid.add_key()
    [instance_id], client = run_in_cloud(hybrid.emulator, name="in-the-cloud")
    settled(hybrid.emulator)
    local = VmInstance.objects.create(name="on-a-host", account=admin_user.account, cpu_num=1, memory_size=1 << 30,
                                      state="Stopped")
    center = hybrid.add_data_center()
    return {"instance_id": instance_id, "client": client, "center": center, "local": local}


def vm_of(hybrid, instance_id):
    row = EcsInstance.objects.get(instance_id=instance_id)
    return hybrid.client.get(f"{VMS}{row.vm_instance.uuid}/").json()


def names(hybrid, *conditions):
    answer = hybrid.client.get(VMS, {"q": list(conditions)} if conditions else {})
    assert answer.status_code == 200, answer.content
    return sorted(row["name"] for row in answer.json()["results"])


def test_a_synced_instance_is_a_row_of_the_vm_list_told_apart_and_filtered(hybrid, synced):
    assert names(hybrid) == ["in-the-cloud", "on-a-host"]
    vm = vm_of(hybrid, synced["instance_id"])
    assert vm["hypervisor_type"] == "AlibabaCloud" and vm["cloud_zone_id"] == "cn-hangzhou-h"
    assert vm["state"] == "Running" and vm["host_uuid"] is None and vm["cluster_uuid"] is None
    assert (vm["cpu_num"], vm["memory_size"]) == (2, 8 << 30)

    assert names(hybrid, "hypervisor_type=AlibabaCloud") == ["in-the-cloud"]
    assert names(hybrid, "hypervisor_type!=AlibabaCloud") == ["on-a-host"]
    assert names(hybrid, "cloud_zone_id=cn-hangzhou-h") == ["in-the-cloud"]
    assert names(hybrid, "cloud_zone_id=") == ["on-a-host"]
    # the data centre and the cloud's own fields through the ECS row
    assert names(hybrid, f"ecs_instance.data_center_uuid={synced['center']['uuid']}") == ["in-the-cloud"]
    assert names(hybrid, "ecs_instance.region_id=cn-hangzhou", "state=Running") == ["in-the-cloud"]
    assert names(hybrid, f"ecs_instance.instance_id={synced['instance_id']}") == ["in-the-cloud"]


def test_the_vm_actions_run_the_ecs_flows_in_the_cloud(hybrid, synced):
    instance_id = synced["instance_id"]
    vm = vm_of(hybrid, instance_id)

    def act(name, body=None):
        return hybrid.job(hybrid.post(f"{VMS}{vm['uuid']}/{name}/", body))

    job = act("stop")
    assert job["state"] == "succeeded", job
    assert job["resource_type"] == "EcsInstance"   # the job holds the ECS row, as /ecs-instances/ would
    assert hybrid.instances()[instance_id]["Status"] == "Stopped"
    assert vm_of(hybrid, instance_id)["state"] == "Stopped"
    assert EcsInstance.objects.get(instance_id=instance_id).state == "Stopped"

    refused = hybrid.client.post(f"{VMS}{vm['uuid']}/reboot/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["details"]["state"] == "Stopped"
    assert act("start")["state"] == "succeeded"
    assert hybrid.instances()[instance_id]["Status"] == "Running" and vm_of(hybrid, instance_id)["state"] == "Running"
    assert act("reboot", {"force": True})["state"] == "succeeded"
    assert act("power-off")["state"] == "succeeded"
    assert hybrid.instances()[instance_id]["Status"] == "Stopped"

    # what an ECS instance has not: refused with a code, nothing started
    paused = hybrid.client.post(f"{VMS}{vm['uuid']}/pause/", {}, format="json")
    assert paused.status_code == 409 and paused.json()["code"] == "VM_ACTION_NOT_IN_CLOUD"

    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{VMS}{vm['uuid']}/")
    job = hybrid.job(answer)
    assert job["state"] == "succeeded", job
    assert instance_id not in hybrid.instances()
    assert not EcsInstance.objects.exists() and names(hybrid) == ["on-a-host"]


def test_the_vm_row_follows_the_syncs(hybrid, synced):
    instance_id, client = synced["instance_id"], synced["client"]
    sync = f"/api/v1/alibaba-data-centers/{synced['center']['uuid']}/sync/"
    client.modify_instance_attribute(ecs_models.ModifyInstanceAttributeRequest(instance_id=instance_id,
                                                                              instance_name="renamed-there"))
    client.stop_instance(ecs_models.StopInstanceRequest(instance_id=instance_id))
    settled(hybrid.emulator)
    assert hybrid.job(hybrid.post(sync))["state"] == "succeeded"
    vm = vm_of(hybrid, instance_id)
    assert (vm["name"], vm["state"]) == ("renamed-there", "Stopped")

    client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    assert hybrid.job(hybrid.post(sync))["state"] == "succeeded"
    assert vm_of(hybrid, instance_id)["state"] == "Unknown"   # gone in the cloud: kept, shown, not in the bin

    row = EcsInstance.objects.get(instance_id=instance_id)
    assert hybrid.job(hybrid.post(f"/api/v1/ecs-instances/{row.uuid}/delete-here/"))["state"] == "succeeded"
    assert names(hybrid) == ["on-a-host"]


def test_each_account_sees_its_own_cloud_vms(hybrid, synced, cloud, django_capture_on_commit_callbacks):
    other = client_for(make_account("oneview-other"))
    assert other.get(VMS, {"q": "hypervisor_type=AlibabaCloud"}).json()["results"] == []
    vm = vm_of(hybrid, synced["instance_id"])
    assert other.get(f"{VMS}{vm['uuid']}/").status_code == 404
    assert other.post(f"{VMS}{vm['uuid']}/stop/", {}, format="json").status_code == 404


def test_a_vm_schedule_stops_a_cloud_vm_in_the_cloud(hybrid, synced):
    from datetime import timedelta

    from django.utils import timezone

    from apps.monitoring.models import VmSchedule
    from apps.monitoring.scheduling import run_due_schedules

    vm = vm_of(hybrid, synced["instance_id"])
    made = hybrid.client.post("/api/v1/vm-schedules/", {"name": "nightly stop", "vm_uuid": vm["uuid"],
                                                        "action": "stop", "cron": "0 22 * * *"}, format="json")
    assert made.status_code == 201, made.content
    VmSchedule.objects.filter(uuid=made.json()["uuid"]).update(next_run_at=timezone.now() - timedelta(seconds=1))
    with hybrid.capture(execute=True):
        [run] = run_due_schedules()
    assert run.outcome == "started", run.message
    assert hybrid.client.get(f"/api/v1/jobs/{run.job_uuid}/").json()["state"] == "succeeded"
    assert hybrid.instances()[synced["instance_id"]]["Status"] == "Stopped"
    assert vm_of(hybrid, synced["instance_id"])["state"] == "Stopped"


def test_the_vm_list_reads_cloud_rows_in_the_same_number_of_queries(hybrid, synced, settings):
    """No query per cloud row: what the list shows of one is columns of the VM row itself."""
    # The token is read again once its cache entry is a second old; a slow machine must not
    # count that read as a query per row.
    settings.API_TOKEN_CACHE_SECONDS = 300
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as seen:
            assert hybrid.client.get(VMS).status_code == 200
        return [q["sql"][:120] for q in seen]

    queries()   # caches a first request fills (global configs, the token's account) out of the count
    few = queries()
    row = EcsInstance.objects.get(instance_id=synced["instance_id"])
    for index in range(5):
        EcsInstance.objects.create(name=f"more-{index}", account_id=row.account_id, data_center_id=row.data_center_id,
                                   identity_zone_id=row.identity_zone_id, instance_id=f"i-more{index}",
                                   state="Running", instance_type="ecs.g7.large", cpu_num=2, memory_size=8 << 30)
    assert VmInstance.objects.filter(hypervisor_type="AlibabaCloud").count() == 6
    assert len(queries()) == len(few), (few, queries())


def test_a_patch_of_a_cloud_vm_writes_the_ecs_row_and_refuses_a_rename(hybrid, synced):
    vm = vm_of(hybrid, synced["instance_id"])
    patched = hybrid.client.patch(f"{VMS}{vm['uuid']}/", {"description": "front end"}, format="json")
    assert patched.status_code == 200 and patched.json()["description"] == "front end", patched.content
    assert EcsInstance.objects.get(instance_id=synced["instance_id"]).description == "front end"
    renamed = hybrid.client.patch(f"{VMS}{vm['uuid']}/", {"name": "other"}, format="json")
    assert renamed.status_code == 409 and "/rename/" in renamed.json()["message"]
    assert vm_of(hybrid, synced["instance_id"])["name"] == "in-the-cloud"
    local = synced["local"]
    assert hybrid.client.patch(f"{VMS}{local.uuid}/", {"name": "still-local"}, format="json").status_code == 200


def test_deleting_the_data_centre_here_takes_its_vm_rows(hybrid, synced):
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"/api/v1/alibaba-data-centers/{synced['center']['uuid']}/")
    assert hybrid.job(answer)["state"] == "succeeded"
    assert names(hybrid) == ["on-a-host"] and synced["instance_id"] in hybrid.instances()

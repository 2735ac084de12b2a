"""EIPs (H4) through the portal's API against the emulator: allocate, associate with an ECS
instance (shown on it), disassociate, release; a release of an associated EIP is refused; a failure
while associating lets the instance go again; a sync imports EIPs and the instances they serve."""
import pytest

from apps.hybrid.cloud import Cloud
from apps.hybrid.models import AlibabaEip
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.network_api import EIPS, act, data_center, delete, made, security_group, v_switch, vpc

pytestmark = pytest.mark.django_db
ECS = "/api/v1/ecs-instances/"


@pytest.fixture
def setting(hybrid):
    """A data centre with a Running ECS instance on the portal's own VPC, vSwitch and group."""
    center = data_center(hybrid)
    zone = hybrid.zone(center, "cn-hangzhou-h")
    network = vpc(hybrid, center)
    switch, group = v_switch(hybrid, network, zone), security_group(hybrid, network)
    instance = made(hybrid, ECS, {"name": "web", "identity_zone_uuid": zone["uuid"], "instance_type": "ecs.g7.large",
                                  "image_id": "aliyun_3_x64_20G_alibase_20240819.vhd",
                                  "v_switch_uuid": switch["uuid"], "security_group_uuid": group["uuid"]})
    return {"center": center, "instance": instance}


def allocated(hybrid, center, **extra):
    return made(hybrid, EIPS, {"data_center_uuid": center["uuid"], "bandwidth": 10, **extra})


def test_an_eip_is_allocated_associated_shown_on_its_instance_disassociated_and_released(hybrid, setting):
    eip = allocated(hybrid, setting["center"], name="front")
    assert eip["state"] == "Available" and eip["allocation_id"].startswith("eip-") and eip["ip_address"]
    record = hybrid.emulator.table("eips")[eip["allocation_id"]]
    assert (record["IpAddress"], record["Bandwidth"], record["Name"]) == (eip["ip_address"], "10", "front")

    instance = setting["instance"]
    job = act(hybrid, EIPS, eip, "associate", {"ecs_instance_uuid": instance["uuid"]})
    assert job["state"] == "succeeded", job
    eip = hybrid.client.get(f"{EIPS}{eip['uuid']}/").json()
    assert eip["state"] == "InUse" and eip["instance_id"] == instance["instance_id"]
    assert eip["ecs_instance_uuid"] == instance["uuid"]
    assert hybrid.emulator.table("eips")[eip["allocation_id"]]["Status"] == "InUse"
    assert hybrid.instances()[instance["instance_id"]]["EipAddress"]["IpAddress"] == eip["ip_address"]
    assert hybrid.client.get(f"{ECS}{instance['uuid']}/").json()["eip_address"] == eip["ip_address"]

    refused = hybrid.client.post(f"{EIPS}{eip['uuid']}/release/", {}, format="json")   # DELETE alike
    assert refused.status_code == 409 and refused.json()["details"]["state"] == "InUse"
    other = allocated(hybrid, setting["center"])
    twice = hybrid.client.post(f"{EIPS}{other['uuid']}/associate/", {"ecs_instance_uuid": instance["uuid"]},
                               format="json")
    assert twice.status_code == 409 and twice.json()["code"] == "ALIBABA_INSTANCE_HAS_EIP"

    assert act(hybrid, EIPS, eip, "disassociate")["state"] == "succeeded"
    record = hybrid.emulator.table("eips")[eip["allocation_id"]]
    assert record["Status"] == "Available" and record["InstanceId"] == ""
    assert hybrid.client.get(f"{ECS}{instance['uuid']}/").json()["eip_address"] == ""
    assert hybrid.client.get(f"{EIPS}{eip['uuid']}/").json()["ecs_instance_uuid"] is None

    assert delete(hybrid, EIPS, eip)["state"] == "succeeded"
    assert eip["allocation_id"] not in hybrid.emulator.table("eips")
    assert not AlibabaEip.objects.filter(uuid=eip["uuid"]).exists()


def test_a_failure_while_associating_lets_the_instance_go_again(hybrid, setting, monkeypatch):
    from apps.hybrid.flows import network_eips

    eip = allocated(hybrid, setting["center"])
    original = network_eips.WaitStatus.run

    def run(step, ctx):
        hybrid.emulator.admin("POST", "faults", {"product": "Vpc", "action": "DescribeEipAddresses",
                                                 "code": "InternalError", "http_status": 500, "times": 1})
        return original(step, ctx)

    monkeypatch.setattr(network_eips.WaitStatus, "run", run)
    job = act(hybrid, EIPS, eip, "associate", {"ecs_instance_uuid": setting["instance"]["uuid"]})
    assert job["state"] == "failed" and job["error"]["step"] == "WaitEipInUse", job
    record = hybrid.emulator.table("eips")[eip["allocation_id"]]
    assert record["Status"] == "Available" and record["InstanceId"] == ""
    assert not hybrid.instances()[setting["instance"]["instance_id"]]["EipAddress"]["AllocationId"]
    assert hybrid.client.get(f"{EIPS}{eip['uuid']}/").json()["state"] == "Available"


def test_a_sync_imports_an_eip_with_the_instance_it_serves(hybrid, setting):
    cloud = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
    allocation = cloud.vpc("AllocateEipAddress", {"Bandwidth": "5"})["AllocationId"]
    cloud.vpc("AssociateEipAddress", {"AllocationId": allocation, "InstanceId": setting["instance"]["instance_id"]})
    job = hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{setting['center']['uuid']}/sync/"))
    assert job["state"] == "succeeded"
    row = AlibabaEip.objects.get(allocation_id=allocation)
    assert row.instance_id == setting["instance"]["instance_id"] and str(row.ecs_instance.uuid) == \
        setting["instance"]["uuid"]
    listed = hybrid.client.get(EIPS, {"q": f"ecs_instance_uuid={setting['instance']['uuid']}"}).json()
    assert [e["allocation_id"] for e in listed["results"]] == [allocation]

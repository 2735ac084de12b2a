"""One view (H12), the create half: the VM create call, with the same image, offering and L3
network as a local create, placed in an Alibaba Cloud identity zone (``identity_zone_uuid``) makes
an ECS instance of the instance type, ECS image, vSwitch and security group the admin mapped them
to (the emulator's state checked); what is not mapped, or only means something locally, is a 400
naming the field; a create the cloud refuses leaves no VM row and nothing in the cloud."""
import uuid

import pytest

from apps.compute.models import VmInstance
from apps.hybrid.models import EcsInstance
from tests.compute.vm_env import Env
from tests.hybrid.network import instance_network

pytestmark = pytest.mark.django_db
VMS = "/api/v1/vm-instances/"
IMAGE = "aliyun_3_x64_20G_alibase_20240819.vhd"


@pytest.fixture
def placed(hybrid, sim_agent, tmp_path):
    """A local environment (simulated hosts, an image, an L3 network, an offering), a data centre,
    and the image, the offering and the L3 network mapped to the cloud's."""
    env = Env(hybrid.client, hybrid.capture, tmp_path)
    hybrid.add_key()
    center = hybrid.add_data_center()
    zone = hybrid.zone(center, "cn-hangzhou-h")
    network = instance_network(zone["zone_id"])

    def mapped(path, body):
        answer = hybrid.client.post(f"/api/v1/{path}/", body, format="json")
        assert answer.status_code == 201, answer.content
        return answer.json()

    mapped("ecs-image-mappings", {"data_center_uuid": center["uuid"], "image_uuid": env.image, "ecs_image_id": IMAGE})
    mapped("ecs-offering-mappings", {"data_center_uuid": center["uuid"],
                                     "instance_offering_uuid": env.offering["uuid"], "instance_type": "ecs.g7.large"})
    mapped("ecs-network-mappings", {"identity_zone_uuid": zone["uuid"], "l3_network_uuid": env.l3["uuid"],
                                    **network})
    return {"env": env, "zone": zone, "center": center, "network": network}


def test_the_same_create_placed_in_an_identity_zone_makes_an_ecs_instance_of_the_mapped_type_and_image(
        hybrid, placed):
    env, zone = placed["env"], placed["zone"]
    local_uuid, job = env.create(name="here")
    assert job["state"] == "succeeded", job
    local = env.vm(local_uuid)
    assert local["host_uuid"] and local["cloud_zone_id"] == "" and local["hypervisor_type"] != "AlibabaCloud"

    answer = hybrid.post(VMS, env.body(name="there", identity_zone_uuid=zone["uuid"]))
    job = hybrid.job(answer)
    assert job["state"] == "succeeded", job
    shown = answer.json()["resource"]
    assert shown["hypervisor_type"] == "AlibabaCloud" and shown["cloud_zone_id"] == "cn-hangzhou-h"

    [record] = hybrid.instances().values()
    assert (record["InstanceType"], record["ImageId"], record["ZoneId"]) == ("ecs.g7.large", IMAGE, "cn-hangzhou-h")
    assert record["InstanceName"] == "there" and record["Status"] == "Running"
    if placed["network"]:
        assert record["VpcAttributes"]["VSwitchId"] == placed["network"]["v_switch_id"]
        assert record["SecurityGroupIds"]["SecurityGroupId"] == [placed["network"]["security_group_id"]]

    vm = env.vm(shown["uuid"])
    assert vm["state"] == "Running" and vm["host_uuid"] is None
    assert (vm["image_uuid"], vm["instance_offering_uuid"]) == (env.image, env.offering["uuid"])
    assert (vm["cpu_num"], vm["memory_size"]) == (2, 8 << 30)   # the instance type's, as the cloud describes it
    row = EcsInstance.objects.get(vm_instance__uuid=shown["uuid"])
    assert row.instance_id == record["InstanceId"] and row.state == "Running"

    listed = hybrid.client.get(VMS, {"q": "hypervisor_type=AlibabaCloud"}).json()["results"]
    assert [one["name"] for one in listed] == ["there"]
    assert sorted(one["name"] for one in hybrid.client.get(VMS).json()["results"]) == ["here", "there"]


def test_a_batch_in_a_zone_makes_one_instance_and_one_vm_each(hybrid, placed):
    env, zone = placed["env"], placed["zone"]
    answer = hybrid.post(VMS, env.body(name="many", identity_zone_uuid=zone["uuid"], count=2))
    assert answer.status_code == 202, answer.content
    assert [one["name"] for one in answer.json()["resources"]] == ["many-1", "many-2"]
    assert sorted(r["InstanceName"] for r in hybrid.instances().values()) == ["many-1", "many-2"]
    assert VmInstance.objects.filter(hypervisor_type="AlibabaCloud", state="Running").count() == 2


def refused(hybrid, body):
    answer = hybrid.client.post(VMS, body, format="json")
    assert answer.status_code == 400, answer.content
    return answer.json()


def test_what_is_not_mapped_or_only_local_is_refused_naming_the_field(hybrid, placed):
    env, zone = placed["env"], placed["zone"]
    body = env.body(name="no", identity_zone_uuid=zone["uuid"])

    missing = refused(hybrid, {**body, "identity_zone_uuid": str(uuid.uuid4())})
    assert "identity_zone_uuid" in missing["details"]

    sized = {k: v for k, v in body.items() if k != "instance_offering_uuid"}
    assert "instance_offering_uuid" in refused(hybrid, {**sized, "cpu_num": 2, "memory_size": 1 << 30})["details"]

    other = env.ok(hybrid.client.post("/api/v1/instance-offerings/", {"name": "unmapped", "cpu_num": 4,
                                                                       "memory_size": 1 << 30}, format="json"))
    error = refused(hybrid, {**body, "instance_offering_uuid": other["uuid"]})
    assert "ecs-offering-mappings" in error["details"]["instance_offering_uuid"][0]

    for field, value in (("host_uuid", env.hosts[0]), ("static_ips", {env.l3["uuid"]: "10.20.0.20"})):
        assert field in refused(hybrid, {**body, field: value})["details"]

    dry = hybrid.client.post(f"{VMS}?dry_run=true", body, format="json")
    assert dry.status_code == 400 and dry.json()["code"] == "DRY_RUN_NOT_OFFERED"
    assert hybrid.instances() == {} and not EcsInstance.objects.exists()


def test_a_create_the_cloud_refuses_leaves_no_vm_row_and_nothing_in_the_cloud(hybrid, placed):
    env, zone = placed["env"], placed["zone"]
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "RunInstances",
                                             "code": "OperationDenied.NoStock", "http_status": 403, "times": 1})
    job = hybrid.job(hybrid.post(VMS, env.body(name="nostock", identity_zone_uuid=zone["uuid"])))
    assert job["state"] == "failed" and job["error"]["details"]["cloud_code"] == "OperationDenied.NoStock", job
    assert hybrid.instances() == {} and not EcsInstance.objects.exists()
    assert not VmInstance.objects.filter(hypervisor_type="AlibabaCloud").exists()

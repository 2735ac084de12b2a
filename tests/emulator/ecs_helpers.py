"""Small helpers the ECS tests share: start instances and wait for a status through the SDK."""
import json
import time

from alibabacloud_ecs20140526 import models as ecs_models
from alibaba_emulator.regions import zones

from .network_helpers import instance_network

IMAGE = "aliyun_3_x64_20G_alibase_20240819.vhd"
REGION = "cn-hangzhou"


def run_request(**overrides):
    fields = dict(region_id=REGION, image_id=IMAGE, instance_type="ecs.g7.large", zone_id="cn-hangzhou-h",
                  v_switch_id="vsw-bp1emulatortest0000", instance_name="web", amount=1)
    fields.update(overrides)
    return ecs_models.RunInstancesRequest(**fields)


def run(client, **overrides):
    # with VPC emulated, RunInstances wants a vSwitch and a security group that exist
    region, zone = overrides.get("region_id", REGION), overrides.get("zone_id", "cn-hangzhou-h")
    if "v_switch_id" not in overrides and zone in zones(region):
        vswitch_id, group_id = instance_network(client, region, zone)
        overrides = {"v_switch_id": vswitch_id, "security_group_id": group_id, **overrides}
    return client.run_instances(run_request(**overrides)).body.instance_id_sets.instance_id_set


def statuses(client, ids):
    answer = client.describe_instances(ecs_models.DescribeInstancesRequest(
        region_id=REGION, instance_ids=json.dumps(ids), page_size=100)).body
    return {i.instance_id: i.status for i in answer.instances.instance}


def wait_for(client, ids, status, timeout=10.0):
    ids = list(ids)
    deadline = time.monotonic() + timeout
    while True:
        seen = statuses(client, ids)
        if all(seen.get(i) == status for i in ids):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still {seen}, not {status}")
        time.sleep(0.05)

"""ECS instances through the real SDK: lifecycle over time, wrong states, batch and idempotency,
quota and stock, filters and both paging styles, state kept over a restart."""
import json
import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from .conftest import sdk_config
from .ecs_helpers import REGION, run, statuses, wait_for


def _error(call):
    with pytest.raises(ClientException) as raised:
        call()
    return raised.value


def test_run_instances_moves_pending_starting_running(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    seen = [statuses(ecs_client, [instance_id])[instance_id]]
    deadline = time.monotonic() + 5
    while seen[-1] != "Running" and time.monotonic() < deadline:
        status = statuses(ecs_client, [instance_id])[instance_id]
        if status != seen[-1]:
            seen.append(status)
        time.sleep(0.02)
    assert seen == ["Pending", "Starting", "Running"]
    record = emulator.table("instances")[instance_id]
    assert record["InstanceType"] == "ecs.g7.large" and (record["Cpu"], record["Memory"]) == (2, 8192)
    assert record["OSType"] == "linux" and record["ZoneId"] == "cn-hangzhou-h"


def test_stop_start_and_reboot_follow_the_real_status_order(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    wait_for(ecs_client, [instance_id], "Running")
    ecs_client.stop_instance(ecs_models.StopInstanceRequest(instance_id=instance_id))
    assert statuses(ecs_client, [instance_id])[instance_id] == "Stopping"
    wait_for(ecs_client, [instance_id], "Stopped")
    ecs_client.start_instance(ecs_models.StartInstanceRequest(instance_id=instance_id))
    assert statuses(ecs_client, [instance_id])[instance_id] == "Starting"
    wait_for(ecs_client, [instance_id], "Running")
    ecs_client.reboot_instance(ecs_models.RebootInstanceRequest(instance_id=instance_id))
    assert statuses(ecs_client, [instance_id])[instance_id] != "Running"
    wait_for(ecs_client, [instance_id], "Running")


def test_wrong_state_calls_answer_incorrect_instance_status(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    error = _error(lambda: ecs_client.start_instance(ecs_models.StartInstanceRequest(instance_id=instance_id)))
    assert (error.code, error.status_code) == ("IncorrectInstanceStatus", 403)
    # not even Force deletes an instance on its way up (the portal waits and tries again)
    assert _error(lambda: ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(
        instance_id=instance_id, force=True))).code == "IncorrectInstanceStatus"
    wait_for(ecs_client, [instance_id], "Running")
    assert _error(lambda: ecs_client.start_instance(
        ecs_models.StartInstanceRequest(instance_id=instance_id))).code == "IncorrectInstanceStatus"
    assert _error(lambda: ecs_client.describe_instance_vnc_url(ecs_models.DescribeInstanceVncUrlRequest(
        region_id=REGION, instance_id="i-doesnotexist"))).code == "InvalidInstanceId.NotFound"


def test_deleting_a_running_instance_needs_force_and_takes_its_disks(emulator, ecs_client):
    (instance_id,) = run(ecs_client, data_disk=[ecs_models.RunInstancesRequestDataDisk(size=40, category="cloud_essd"),
                                                ecs_models.RunInstancesRequestDataDisk(size=50, delete_with_instance=False)])
    assert len(emulator.table("disks")) == 3
    wait_for(ecs_client, [instance_id], "Running")
    error = _error(lambda: ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id)))
    assert error.code == "IncorrectInstanceStatus"
    assert instance_id in emulator.table("instances")
    ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    assert instance_id not in emulator.table("instances")
    (kept,) = emulator.table("disks").values()   # the one not deleted with the instance stays, detached
    assert (kept["Size"], kept["Status"], kept["InstanceId"]) == (50, "Available", "")


def test_batch_run_instances_is_idempotent_by_client_token(emulator, ecs_client):
    first = run(ecs_client, amount=3, client_token="token-batch-1", instance_name="node", unique_suffix=True)
    again = run(ecs_client, amount=3, client_token="token-batch-1", instance_name="node", unique_suffix=True)
    assert first == again and len(first) == 3
    names = sorted(r["InstanceName"] for r in emulator.table("instances").values())
    assert names == ["node001", "node002", "node003"]
    error = _error(lambda: run(ecs_client, amount=2, client_token="token-batch-1"))
    assert error.code == "IdempotentParameterMismatch"
    ips = {r["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0] for r in emulator.table("instances").values()}
    assert len(ips) == 3


def test_batch_start_stop_and_delete(emulator, ecs_client):
    ids = run(ecs_client, amount=2)
    wait_for(ecs_client, ids, "Running")
    answer = ecs_client.stop_instances(ecs_models.StopInstancesRequest(region_id=REGION, instance_id=ids)).body
    assert [(r.code, r.previous_status, r.current_status) for r in answer.instance_responses.instance_response] == \
        [("200", "Running", "Stopping")] * 2
    wait_for(ecs_client, ids, "Stopped")
    # AllTogether: one instance in the wrong state refuses the whole batch
    ecs_client.start_instance(ecs_models.StartInstanceRequest(instance_id=ids[0]))
    error = _error(lambda: ecs_client.start_instances(ecs_models.StartInstancesRequest(region_id=REGION, instance_id=ids)))
    assert error.code == "IncorrectInstanceStatus"
    answer = ecs_client.start_instances(ecs_models.StartInstancesRequest(
        region_id=REGION, instance_id=ids, batch_optimization="SuccessFirst")).body
    assert [r.code for r in answer.instance_responses.instance_response] == ["IncorrectInstanceStatus", "200"]
    wait_for(ecs_client, ids, "Running")
    ecs_client.delete_instances(ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=ids, force=True))
    assert emulator.table("instances") == {}


def test_quota_and_stock_refuse_with_the_real_codes(emulator, ecs_client):
    emulator.admin("POST", "quotas", {"region": REGION, "max_instances": 2})
    run(ecs_client)
    error = _error(lambda: run(ecs_client, amount=2))
    assert (error.code, error.status_code) == ("QuotaExceed.ElasticQuota", 403)
    assert len(run(ecs_client, amount=5, min_amount=1)) == 1   # MinAmount: as many as fit
    emulator.admin("POST", "quotas", {"region": REGION, "max_instances": 100})
    emulator.admin("POST", "stock", {"region": REGION, "zone": "cn-hangzhou-i", "instance_type": "ecs.c7.large",
                                     "available": False})
    error = _error(lambda: run(ecs_client, zone_id="cn-hangzhou-i", instance_type="ecs.c7.large"))
    assert (error.code, error.status_code) == ("OperationDenied.NoStock", 403)
    assert run(ecs_client, zone_id="cn-hangzhou-h", instance_type="ecs.c7.large")
    zones = ecs_client.describe_available_resource(ecs_models.DescribeAvailableResourceRequest(
        region_id=REGION, destination_resource="InstanceType", instance_type="ecs.c7.large")).body
    by_zone = {z.zone_id: z.status_category for z in zones.available_zones.available_zone}
    assert by_zone["cn-hangzhou-i"] == "WithoutStock" and by_zone["cn-hangzhou-h"] == "WithStock"


def test_run_instances_checks_its_parameters(emulator, ecs_client):
    assert _error(lambda: run(ecs_client, image_id=None)).code == "MissingParameter"
    assert _error(lambda: run(ecs_client, zone_id=None, v_switch_id=None)).code == "MissingParameter"
    assert _error(lambda: run(ecs_client, instance_type="ecs.nope.large")).code == "InvalidInstanceType.ValueNotSupported"
    assert _error(lambda: run(ecs_client, zone_id="cn-hangzhou-z")).code == "InvalidZoneId.NotFound"
    assert _error(lambda: run(ecs_client, password="short")).code == "InvalidPassword.Malformed"
    assert _error(lambda: run(ecs_client, amount=101)).code == "InvalidParameter"
    assert _error(lambda: run(ecs_client, dry_run=True)).code == "DryRunOperation"
    assert emulator.table("instances") == {}


def test_describe_instances_filters(emulator, ecs_client):
    web = run(ecs_client, instance_name="web-1", tag=[ecs_models.RunInstancesRequestTag(key="team", value="a")])
    db = run(ecs_client, instance_name="db-1", zone_id="cn-hangzhou-i", instance_type="ecs.r7.large")
    wait_for(ecs_client, web + db, "Running")
    ecs_client.stop_instance(ecs_models.StopInstanceRequest(instance_id=db[0]))

    def ids(**filters):
        filters.setdefault("region_id", REGION)
        answer = ecs_client.describe_instances(ecs_models.DescribeInstancesRequest(**filters)).body
        return [i.instance_id for i in answer.instances.instance]

    assert ids(instance_ids=json.dumps(db)) == db
    assert ids(zone_id="cn-hangzhou-i") == db
    assert ids(status="Running") == web
    assert ids(instance_name="web*") == web
    assert ids(instance_type="ecs.r7.large") == db
    assert ids(tag=[ecs_models.DescribeInstancesRequestTag(key="team", value="a")]) == web
    assert ids(tag=[ecs_models.DescribeInstancesRequestTag(key="team")]) == web
    marked = run(ecs_client, tag=[ecs_models.RunInstancesRequestTag(key="cloudportal:uuid", value="5f0c-1")])
    assert ids(tag=[ecs_models.DescribeInstancesRequestTag(key="cloudportal:uuid", value="5f0c-1")],
               max_results=100) == marked
    assert ids(vpc_id="vpc-none") == []
    assert ids(region_id="cn-shanghai") == []


def test_paging_by_page_number_and_by_next_token(emulator, ecs_client):
    created = run(ecs_client, amount=25)
    seen, page = [], 1
    while True:
        body = ecs_client.describe_instances(ecs_models.DescribeInstancesRequest(
            region_id=REGION, page_number=page, page_size=10)).body
        assert body.total_count == 25 and body.page_size == 10
        seen += [i.instance_id for i in body.instances.instance]
        if len(seen) >= body.total_count:
            break
        page += 1
    assert seen == created and page == 3
    by_token, token = [], None
    while True:
        body = ecs_client.describe_instances(ecs_models.DescribeInstancesRequest(
            region_id=REGION, max_results=10, next_token=token)).body
        by_token += [i.instance_id for i in body.instances.instance]
        token = body.next_token
        if not token:
            break
    assert by_token == created
    statuses_page = ecs_client.describe_instance_status(ecs_models.DescribeInstanceStatusRequest(
        region_id=REGION, page_number=3, page_size=10)).body
    assert statuses_page.total_count == 25 and len(statuses_page.instance_statuses.instance_status) == 5


def test_modify_attributes_charge_type_and_vnc(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    wait_for(ecs_client, [instance_id], "Running")
    ecs_client.modify_instance_attribute(ecs_models.ModifyInstanceAttributeRequest(
        instance_id=instance_id, instance_name="应用服务器-1", description="the app server + 100% ~ok", host_name="app-1",
        password="Str0ng!Passw0rd"))
    attribute = ecs_client.describe_instance_attribute(
        ecs_models.DescribeInstanceAttributeRequest(instance_id=instance_id)).body
    assert (attribute.instance_name, attribute.description, attribute.host_name) == \
        ("应用服务器-1", "the app server + 100% ~ok", "app-1")
    assert _error(lambda: ecs_client.modify_instance_attribute(ecs_models.ModifyInstanceAttributeRequest(
        instance_id=instance_id, password="weak"))).code == "InvalidPassword.Malformed"
    ecs_client.modify_instance_charge_type(ecs_models.ModifyInstanceChargeTypeRequest(
        region_id=REGION, instance_ids=json.dumps([instance_id]), instance_charge_type="PrePaid", period=1))
    assert emulator.table("instances")[instance_id]["InstanceChargeType"] == "PrePaid"
    error = _error(lambda: ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True)))
    assert error.code == "ChargeTypeViolation"
    url = ecs_client.describe_instance_vnc_url(ecs_models.DescribeInstanceVncUrlRequest(
        region_id=REGION, instance_id=instance_id)).body.vnc_url
    assert url.startswith("wss://")
    ecs_client.modify_instance_vnc_passwd(ecs_models.ModifyInstanceVncPasswdRequest(
        region_id=REGION, instance_id=instance_id, vnc_password="Ab1234"))
    assert _error(lambda: ecs_client.modify_instance_vnc_passwd(ecs_models.ModifyInstanceVncPasswdRequest(
        region_id=REGION, instance_id=instance_id, vnc_password="bad!"))).code == "InvalidVncPassword.Malformed"
    assert "Str0ng" not in json.dumps(emulator.state())   # passwords are never kept


def test_v2_signed_calls_carry_lists_and_objects_too(emulator, make_ecs_client):
    client = make_ecs_client(signature_algorithm="v2")
    (instance_id,) = run(client, system_disk=ecs_models.RunInstancesRequestSystemDisk(size=60, category="cloud_essd"),
                         tag=[ecs_models.RunInstancesRequestTag(key="env", value="demo prod")])
    record = emulator.table("instances")[instance_id]
    assert record["Tags"]["Tag"] == [{"TagKey": "env", "TagValue": "demo prod"}]
    system = [d for d in emulator.table("disks").values() if d["Type"] == "system"]
    assert [(d["Size"], d["Category"]) for d in system] == [(60, "cloud_essd")]


def test_instances_and_their_transitions_survive_a_restart(own_emulator):
    client = EcsClient(sdk_config(own_emulator))
    (instance_id,) = run(client)
    own_emulator.restart()
    client = EcsClient(sdk_config(own_emulator))
    wait_for(client, [instance_id], "Running")   # the plan made before the restart carries on
    assert instance_id in own_emulator.table("instances")


def test_catalogue_calls(emulator, ecs_client):
    types = ecs_client.describe_instance_types(ecs_models.DescribeInstanceTypesRequest(
        instance_type_family="ecs.c7")).body.instance_types.instance_type
    assert {(t.instance_type_id, t.cpu_core_count, t.memory_size) for t in types} >= {("ecs.c7.large", 2, 4.0)}
    assert all(t.instance_type_family == "ecs.c7" for t in types)
    run(ecs_client, amount=2)
    items = ecs_client.describe_account_attributes(ecs_models.DescribeAccountAttributesRequest(
        region_id=REGION, attribute_name=["used-postpaid-instance-vcpu-count"])).body.account_attribute_items
    (item,) = items.account_attribute_item
    assert item.attribute_values.value_item[0].value == "4"


def test_each_account_sees_only_its_own_instances(emulator, ecs_client, make_ecs_client):
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccount", "access_key_secret": "other-secret"})
    other = make_ecs_client(access_key_id="LTAI5tOtherAccount", access_key_secret="other-secret")
    (theirs,) = run(other, instance_name="theirs")
    (mine,) = run(ecs_client, instance_name="mine")
    assert list(statuses(ecs_client, [theirs, mine])) == [mine]
    assert list(statuses(other, [theirs, mine])) == [theirs]
    error = _error(lambda: ecs_client.describe_instance_attribute(
        ecs_models.DescribeInstanceAttributeRequest(instance_id=theirs)))
    assert error.code == "InvalidInstanceId.NotFound"

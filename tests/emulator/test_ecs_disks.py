"""ECS cloud disks through the real ECS SDK: create (Creating → Available), describe with filters and
both paging styles, attach (Attaching → In_use) and detach (Detaching → Available) for Running or
Stopped instances, delete only when Available, modify, charge type; errors and a restart."""
import json
import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from .conftest import sdk_config
from .ecs_helpers import run, wait_for

REGION = "cn-hangzhou"


def _error(call):
    with pytest.raises(ClientException) as raised:
        call()
    return raised.value


def _create(client, size=40, category="cloud_essd", zone="cn-hangzhou-h", region=REGION, **fields):
    return client.create_disk(ecs_models.CreateDiskRequest(
        region_id=region, zone_id=zone, size=size, disk_category=category, **fields)).body.disk_id


def _disk(client, disk_id, region=REGION):
    (disk,) = client.describe_disks(ecs_models.DescribeDisksRequest(
        region_id=region, disk_ids=json.dumps([disk_id]))).body.disks.disk
    return disk


def _wait_disk(client, disk_id, status, region=REGION, timeout=5.0):
    deadline = time.monotonic() + timeout
    while _disk(client, disk_id, region).status != status:
        assert time.monotonic() < deadline, f"disk {disk_id} never {status}"
        time.sleep(0.05)


def _ready_disk(client, region=REGION, **fields):
    disk_id = _create(client, region=region, **fields)
    _wait_disk(client, disk_id, "Available", region)
    return disk_id


def _attach(client, disk_id, instance_id, **fields):
    client.attach_disk(ecs_models.AttachDiskRequest(disk_id=disk_id, instance_id=instance_id, **fields))


def _detach(client, disk_id, instance_id):
    client.detach_disk(ecs_models.DetachDiskRequest(disk_id=disk_id, instance_id=instance_id))


def test_create_disk_turns_available(emulator, ecs_client):
    disk_id = _create(ecs_client, disk_name="data-1", description="database files", performance_level="PL1",
                      tag=[ecs_models.CreateDiskRequestTag(key="app", value="db")])
    assert disk_id.startswith("d-") and _disk(ecs_client, disk_id).status == "Creating"
    _wait_disk(ecs_client, disk_id, "Available")
    disk = _disk(ecs_client, disk_id)
    assert (disk.disk_name, disk.description, disk.category, disk.size, disk.type, disk.zone_id) == (
        "data-1", "database files", "cloud_essd", 40, "data", "cn-hangzhou-h")
    assert (disk.disk_charge_type, disk.portable, disk.performance_level, disk.iops) == ("PostPaid", True, "PL1", 3800)
    assert [(t.tag_key, t.tag_value) for t in disk.tags.tag] == [("app", "db")]
    assert emulator.table("disks")[disk_id]["Status"] == "Available"


@pytest.mark.parametrize("fields, code, status", [
    (dict(size=10, category="cloud_efficiency"), "InvalidDataDiskSize.ValueNotSupported", 400),
    (dict(size=2001, category="cloud"), "InvalidDataDiskSize.ValueNotSupported", 400),
    (dict(size=100, category="cloud_essd", performance_level="PL2"), "InvalidDataDiskSize.ValueNotSupported", 400),
    (dict(category="cloud_nope"), "InvalidDataDiskCategory.ValueNotSupported", 400),
    (dict(zone="cn-hangzhou-z"), "InvalidZoneId.NotFound", 404),
    (dict(disk_name="http://x"), "InvalidDiskName.Malformed", 400),
])
def test_create_disk_checks(emulator, ecs_client, fields, code, status):
    error = _error(lambda: _create(ecs_client, **fields))
    assert (error.code, error.status_code) == (code, status)
    assert not emulator.table("disks")


def test_attach_and_detach_move_through_their_states(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    disk_id = _ready_disk(ecs_client)
    error = _error(lambda: _attach(ecs_client, disk_id, instance_id))
    assert (error.code, error.status_code) == ("IncorrectInstanceStatus", 403)     # the instance is Pending
    wait_for(ecs_client, [instance_id], "Running")
    _attach(ecs_client, disk_id, instance_id, delete_with_instance=False)
    assert _disk(ecs_client, disk_id).status == "Attaching"
    _wait_disk(ecs_client, disk_id, "In_use")
    disk = _disk(ecs_client, disk_id)
    assert (disk.instance_id, disk.device) == (instance_id, "/dev/xvdb")   # xvda is the system disk
    assert [a.instance_id for a in disk.attachments.attachment] == [instance_id]
    on_instance = ecs_client.describe_disks(ecs_models.DescribeDisksRequest(region_id=REGION, instance_id=instance_id))
    assert sorted(d.type for d in on_instance.body.disks.disk) == ["data", "system"]

    error = _error(lambda: _attach(ecs_client, disk_id, instance_id))
    assert (error.code, error.status_code) == ("IncorrectDiskStatus", 403)
    error = _error(lambda: ecs_client.delete_disk(ecs_models.DeleteDiskRequest(disk_id=disk_id)))
    assert (error.code, error.status_code) == ("IncorrectDiskStatus", 403)
    system_disk = next(d for d in on_instance.body.disks.disk if d.type == "system")
    assert _error(lambda: _detach(ecs_client, system_disk.disk_id, instance_id)).code == "DiskNotPortable"

    ecs_client.stop_instance(ecs_models.StopInstanceRequest(instance_id=instance_id))
    wait_for(ecs_client, [instance_id], "Stopped")
    _detach(ecs_client, disk_id, instance_id)              # a Stopped instance lets its disks go too
    assert _disk(ecs_client, disk_id).status == "Detaching"
    _wait_disk(ecs_client, disk_id, "Available")
    disk = _disk(ecs_client, disk_id)
    assert (disk.instance_id, disk.device, disk.detached_time != "") == ("", "", True)
    assert _error(lambda: _detach(ecs_client, disk_id, instance_id)).code == "IncorrectDiskStatus"
    ecs_client.delete_disk(ecs_models.DeleteDiskRequest(disk_id=disk_id))
    assert disk_id not in emulator.table("disks")
    error = _error(lambda: ecs_client.delete_disk(ecs_models.DeleteDiskRequest(disk_id=disk_id)))
    assert (error.code, error.status_code) == ("InvalidDiskId.NotFound", 404)


def test_attach_checks_zone_and_existence(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    wait_for(ecs_client, [instance_id], "Running")
    elsewhere = _ready_disk(ecs_client, zone="cn-hangzhou-i")
    assert _error(lambda: _attach(ecs_client, elsewhere, instance_id)).code == "InvalidDiskId.ZoneMismatch"
    assert _error(lambda: _attach(ecs_client, "d-doesnotexist000000000", instance_id)).code == "InvalidDiskId.NotFound"
    error = _error(lambda: _attach(ecs_client, elsewhere, "i-doesnotexist000000000"))
    assert (error.code, error.status_code) == ("InvalidInstanceId.NotFound", 404)
    beijing = _ready_disk(ecs_client, region="cn-beijing", zone="cn-beijing-g")
    # no RegionId on AttachDisk: the disk is found in Beijing, where the instance is not
    assert _error(lambda: _attach(ecs_client, beijing, instance_id)).code == "InvalidInstanceId.NotFound"


def test_an_instance_deletion_keeps_disks_that_do_not_go_with_it(emulator, ecs_client):
    (instance_id,) = run(ecs_client)
    wait_for(ecs_client, [instance_id], "Running")
    kept, gone = _ready_disk(ecs_client), _ready_disk(ecs_client)
    _attach(ecs_client, kept, instance_id, delete_with_instance=False)
    _attach(ecs_client, gone, instance_id, delete_with_instance=True)
    _wait_disk(ecs_client, kept, "In_use")
    _wait_disk(ecs_client, gone, "In_use")
    ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    assert set(emulator.table("disks")) == {kept}
    assert _disk(ecs_client, kept).status == "Available"


def test_modify_attribute_and_charge_type(emulator, ecs_client):
    disk_id = _ready_disk(ecs_client)
    ecs_client.modify_disk_attribute(ecs_models.ModifyDiskAttributeRequest(
        region_id=REGION, disk_id=disk_id, disk_name="renamed", description="kept logs", delete_with_instance=True))
    disk = _disk(ecs_client, disk_id)
    assert (disk.disk_name, disk.description, disk.delete_with_instance) == ("renamed", "kept logs", True)
    assert _error(lambda: ecs_client.modify_disk_attribute(ecs_models.ModifyDiskAttributeRequest(
        region_id=REGION, disk_id="d-doesnotexist000000000", disk_name="x1"))).code == "InvalidDiskId.NotFound"

    (instance_id,) = run(ecs_client, instance_charge_type="PrePaid", period=1)
    wait_for(ecs_client, [instance_id], "Running")
    _attach(ecs_client, disk_id, instance_id)
    error = _error(lambda: ecs_client.modify_disk_charge_type(ecs_models.ModifyDiskChargeTypeRequest(
        region_id=REGION, instance_id=instance_id, disk_ids=json.dumps([disk_id]), disk_charge_type="PrePaid")))
    assert error.code == "IncorrectDiskStatus"                      # still Attaching
    _wait_disk(ecs_client, disk_id, "In_use")
    answer = ecs_client.modify_disk_charge_type(ecs_models.ModifyDiskChargeTypeRequest(
        region_id=REGION, instance_id=instance_id, disk_ids=json.dumps([disk_id]), disk_charge_type="PrePaid")).body
    assert answer.order_id
    disk = _disk(ecs_client, disk_id)
    assert (disk.disk_charge_type, disk.portable) == ("PrePaid", False)
    assert _error(lambda: _detach(ecs_client, disk_id, instance_id)).code == "DiskNotPortable"


def test_filters_and_both_paging_styles(emulator, ecs_client):
    ids = [_create(ecs_client, size=20 + n, category="cloud_efficiency" if n % 3 else "cloud_ssd") for n in range(9)]
    page = ecs_client.describe_disks(ecs_models.DescribeDisksRequest(region_id=REGION, page_size=4, page_number=3)).body
    assert (page.total_count, [d.disk_id for d in page.disks.disk]) == (9, ids[8:])
    seen, token = [], None
    while True:
        answer = ecs_client.describe_disks(ecs_models.DescribeDisksRequest(
            region_id=REGION, max_results=4, next_token=token)).body
        seen += [d.disk_id for d in answer.disks.disk]
        token = answer.next_token
        if not token:
            break
    assert seen == ids
    ssd = ecs_client.describe_disks(ecs_models.DescribeDisksRequest(region_id=REGION, category="cloud_ssd")).body
    assert [d.disk_id for d in ssd.disks.disk] == ids[::3]
    assert ecs_client.describe_disks(ecs_models.DescribeDisksRequest(
        region_id=REGION, status="In_use")).body.total_count == 0
    assert ecs_client.describe_disks(ecs_models.DescribeDisksRequest(region_id="cn-beijing")).body.total_count == 0


def test_disks_and_their_transitions_survive_a_restart(own_emulator):
    client = EcsClient(sdk_config(own_emulator))
    ready = _ready_disk(client, disk_name="kept")
    creating = _create(client)
    own_emulator.restart()
    client = EcsClient(sdk_config(own_emulator))
    assert _disk(client, ready).disk_name == "kept"
    _wait_disk(client, creating, "Available")


def test_client_token_makes_create_disk_idempotent(emulator, ecs_client):
    assert _create(ecs_client, client_token="job-11") == _create(ecs_client, client_token="job-11")
    assert len(emulator.table("disks")) == 1


def test_disks_are_per_account_and_region(emulator, ecs_client, make_ecs_client):
    disk_id = _ready_disk(ecs_client)
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccount", "access_key_secret": "other-secret",
                                    "account": "1688000000000002"})
    other = make_ecs_client(access_key_id="LTAI5tOtherAccount", access_key_secret="other-secret")
    assert other.describe_disks(ecs_models.DescribeDisksRequest(region_id=REGION)).body.total_count == 0
    error = _error(lambda: other.delete_disk(ecs_models.DeleteDiskRequest(disk_id=disk_id)))
    assert (error.code, error.status_code) == ("InvalidDiskId.NotFound", 404)
    assert ecs_client.describe_disks(ecs_models.DescribeDisksRequest(region_id="cn-shanghai")).body.total_count == 0
    assert disk_id in emulator.table("disks")

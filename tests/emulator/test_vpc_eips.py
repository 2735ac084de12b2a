"""EIPs through the real VPC SDK: allocate, associate with an ECS instance of the same region
(Associating → InUse), unassociate (Unassociating → Available), release, modify; errors, quota,
paging, what an instance's deletion does, and a restart."""
import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient

from .conftest import sdk_config
from .ecs_helpers import run, wait_for

REGION = "cn-hangzhou"


def _error(call):
    with pytest.raises(ClientException) as raised:
        call()
    return raised.value


def _allocate(client, region=REGION, **fields):
    return client.allocate_eip_address(vpc_models.AllocateEipAddressRequest(region_id=region, **fields)).body


def _eip(client, allocation_id, region=REGION):
    answer = client.describe_eip_addresses(vpc_models.DescribeEipAddressesRequest(
        region_id=region, allocation_id=allocation_id, status=None)).body.eip_addresses.eip_address
    return answer[0] if answer else None


def _wait_eip(client, allocation_id, status, timeout=5.0):
    deadline = time.monotonic() + timeout
    while _eip(client, allocation_id).status != status:
        assert time.monotonic() < deadline, f"EIP {allocation_id} never {status}"
        time.sleep(0.05)


def _associate(client, allocation_id, instance_id, **fields):
    client.associate_eip_address(vpc_models.AssociateEipAddressRequest(
        region_id=REGION, allocation_id=allocation_id, instance_id=instance_id, **fields))


def _running_instance(ecs_client):
    (instance_id,) = run(ecs_client)
    wait_for(ecs_client, [instance_id], "Running")
    return instance_id


def test_allocate_describe_and_modify(emulator, vpc_client):
    allocated = _allocate(vpc_client, bandwidth="10", internet_charge_type="PayByTraffic", name="web-ip")
    assert allocated.allocation_id.startswith("eip-") and allocated.eip_address.startswith(("47.96.", "118.178."))
    eip = _eip(vpc_client, allocated.allocation_id)
    assert (eip.status, eip.bandwidth, eip.internet_charge_type, eip.name, eip.ip_address) == (
        "Available", "10", "PayByTraffic", "web-ip", allocated.eip_address)
    vpc_client.modify_eip_address_attribute(vpc_models.ModifyEipAddressAttributeRequest(
        region_id=REGION, allocation_id=allocated.allocation_id, bandwidth="20", description="front door"))
    stored = emulator.table("eips")[allocated.allocation_id]
    assert (stored["Bandwidth"], stored["Description"]) == ("20", "front door")
    assert _error(lambda: vpc_client.modify_eip_address_attribute(vpc_models.ModifyEipAddressAttributeRequest(
        region_id=REGION, allocation_id=allocated.allocation_id, bandwidth="201"))).code == "InvalidBandwidth.Malformed"
    assert _error(lambda: _allocate(vpc_client, internet_charge_type="PayByNothing")).code == "InvalidParameter"
    error = _error(lambda: _eip_missing(vpc_client))
    assert (error.code, error.status_code) == ("InvalidAllocationId.NotFound", 404)


def _eip_missing(client):
    client.release_eip_address(vpc_models.ReleaseEipAddressRequest(region_id=REGION, allocation_id="eip-doesnotexist0000000"))


def test_eip_quota(emulator, vpc_client):
    emulator.admin("POST", "quotas", {"region": REGION, "max_eips": 2})
    _allocate(vpc_client)
    _allocate(vpc_client)
    error = _error(lambda: _allocate(vpc_client))
    assert (error.code, error.status_code) == ("QuotaExceeded.Eip", 403)
    assert _allocate(vpc_client, region="cn-shanghai").eip_address.startswith(("47.100.", "106.14."))


def test_associate_and_unassociate_with_an_instance(emulator, vpc_client, ecs_client):
    instance_id = _running_instance(ecs_client)
    allocation_id = _allocate(vpc_client).allocation_id
    _associate(vpc_client, allocation_id, instance_id)
    assert _eip(vpc_client, allocation_id).status == "Associating"
    _wait_eip(vpc_client, allocation_id, "InUse")
    eip = _eip(vpc_client, allocation_id)
    private_ip = emulator.table("instances")[instance_id]["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
    assert (eip.instance_id, eip.instance_type, eip.private_ip_address) == (instance_id, "EcsInstance", private_ip)
    (instance,) = ecs_client.describe_instances(ecs_models.DescribeInstancesRequest(
        region_id=REGION, instance_ids=f'["{instance_id}"]')).body.instances.instance
    assert (instance.eip_address.allocation_id, instance.eip_address.ip_address) == (allocation_id, eip.ip_address)
    in_use = vpc_client.describe_eip_addresses(vpc_models.DescribeEipAddressesRequest(
        region_id=REGION, associated_instance_id=instance_id)).body
    assert [e.allocation_id for e in in_use.eip_addresses.eip_address] == [allocation_id]

    error = _error(lambda: vpc_client.release_eip_address(vpc_models.ReleaseEipAddressRequest(
        region_id=REGION, allocation_id=allocation_id)))
    assert (error.code, error.status_code) == ("IncorrectEipStatus", 400)
    second = _allocate(vpc_client).allocation_id
    assert _error(lambda: _associate(vpc_client, second, instance_id)).code == "InvalidInstanceId.AlreadyBindEip"
    assert _error(lambda: _associate(vpc_client, allocation_id, instance_id)).code == "IncorrectEipStatus"

    vpc_client.unassociate_eip_address(vpc_models.UnassociateEipAddressRequest(
        region_id=REGION, allocation_id=allocation_id, instance_id=instance_id))
    assert _eip(vpc_client, allocation_id).status == "Unassociating"
    assert emulator.table("instances")[instance_id]["EipAddress"]["AllocationId"] == ""
    _wait_eip(vpc_client, allocation_id, "Available")
    assert _eip(vpc_client, allocation_id).instance_id == ""
    assert _error(lambda: vpc_client.unassociate_eip_address(vpc_models.UnassociateEipAddressRequest(
        region_id=REGION, allocation_id=allocation_id, instance_id=instance_id))).code == "IncorrectEipStatus"
    vpc_client.release_eip_address(vpc_models.ReleaseEipAddressRequest(region_id=REGION, allocation_id=allocation_id))
    assert allocation_id not in emulator.table("eips")


def test_associate_needs_an_instance_of_the_same_region_in_a_fitting_state(emulator, vpc_client, ecs_client):
    (instance_id,) = run(ecs_client)                      # still Pending
    allocation_id = _allocate(vpc_client).allocation_id
    error = _error(lambda: _associate(vpc_client, allocation_id, instance_id))
    assert error.code == "IncorrectInstanceStatus"
    wait_for(ecs_client, [instance_id], "Running")
    beijing = _allocate(vpc_client, region="cn-beijing").allocation_id
    error = _error(lambda: vpc_client.associate_eip_address(vpc_models.AssociateEipAddressRequest(
        region_id="cn-beijing", allocation_id=beijing, instance_id=instance_id)))
    assert (error.code, error.status_code) == ("InvalidInstanceId.NotFound", 404)
    error = _error(lambda: _associate(vpc_client, allocation_id, instance_id, instance_region_id="cn-beijing"))
    assert error.code == "InvalidRegionId.Mismatch"
    assert _error(lambda: _associate(vpc_client, "eip-doesnotexist0000000", instance_id)).code == \
        "InvalidAllocationId.NotFound"
    assert emulator.table("eips")[allocation_id]["Status"] == "Available"


def test_deleting_an_instance_frees_its_eip(emulator, vpc_client, ecs_client):
    instance_id = _running_instance(ecs_client)
    allocation_id = _allocate(vpc_client).allocation_id
    _associate(vpc_client, allocation_id, instance_id)
    _wait_eip(vpc_client, allocation_id, "InUse")
    ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    eip = _eip(vpc_client, allocation_id)
    assert (eip.status, eip.instance_id) == ("Available", "")


def test_paging_and_filters(emulator, vpc_client):
    ids = [_allocate(vpc_client, name=f"ip{n}").allocation_id for n in range(7)]
    page = vpc_client.describe_eip_addresses(vpc_models.DescribeEipAddressesRequest(
        region_id=REGION, page_size=3, page_number=3)).body
    assert (page.total_count, [e.allocation_id for e in page.eip_addresses.eip_address]) == (7, ids[6:])
    named = vpc_client.describe_eip_addresses(vpc_models.DescribeEipAddressesRequest(region_id=REGION, eip_name="ip2"))
    assert [e.allocation_id for e in named.body.eip_addresses.eip_address] == [ids[2]]
    address = emulator.table("eips")[ids[4]]["IpAddress"]
    by_address = vpc_client.describe_eip_addresses(vpc_models.DescribeEipAddressesRequest(
        region_id=REGION, eip_address=address)).body.eip_addresses.eip_address
    assert [e.allocation_id for e in by_address] == [ids[4]]
    assert vpc_client.describe_eip_addresses(vpc_models.DescribeEipAddressesRequest(
        region_id=REGION, status="InUse")).body.total_count == 0


def test_eips_survive_a_restart(own_emulator):
    client = VpcClient(sdk_config(own_emulator))
    allocated = _allocate(client, name="kept")
    own_emulator.restart()
    client = VpcClient(sdk_config(own_emulator))
    eip = _eip(client, allocated.allocation_id)
    assert (eip.name, eip.ip_address, eip.status) == ("kept", allocated.eip_address, "Available")


def test_client_token_makes_allocate_idempotent(emulator, vpc_client):
    first = _allocate(vpc_client, client_token="job-7")
    again = _allocate(vpc_client, client_token="job-7")
    assert (again.allocation_id, again.eip_address) == (first.allocation_id, first.eip_address)
    assert len(emulator.table("eips")) == 1


def test_eips_are_per_account(emulator, vpc_client, make_vpc_client):
    allocation_id = _allocate(vpc_client).allocation_id
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccount", "access_key_secret": "other-secret",
                                    "account": "1688000000000002"})
    other = make_vpc_client(access_key_id="LTAI5tOtherAccount", access_key_secret="other-secret")
    assert other.describe_eip_addresses(vpc_models.DescribeEipAddressesRequest(region_id=REGION)).body.total_count == 0
    error = _error(lambda: other.release_eip_address(vpc_models.ReleaseEipAddressRequest(
        region_id=REGION, allocation_id=allocation_id)))
    assert (error.code, error.status_code) == ("InvalidAllocationId.NotFound", 404)
    assert allocation_id in emulator.table("eips")

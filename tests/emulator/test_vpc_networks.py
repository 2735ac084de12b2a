"""VPC product through the real VPC SDK: VPCs with their VRouter and system route table, vSwitches,
route tables and entries; states over time, the service's errors, paging, and a restart."""
import time

import pytest
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


def _create_vpc(client, cidr="192.168.0.0/16", name="prod", region=REGION, **fields):
    return client.create_vpc(vpc_models.CreateVpcRequest(region_id=region, cidr_block=cidr, vpc_name=name,
                                                          **fields)).body


def _vpc(client, vpc_id, region=REGION):
    return client.describe_vpc_attribute(vpc_models.DescribeVpcAttributeRequest(region_id=region, vpc_id=vpc_id)).body


def _wait_vpc(client, vpc_id, status="Available", timeout=5.0):
    deadline = time.monotonic() + timeout
    while _vpc(client, vpc_id).status != status:
        assert time.monotonic() < deadline, f"VPC {vpc_id} never {status}"
        time.sleep(0.05)


def _create_vswitch(client, vpc_id, cidr, zone="cn-hangzhou-h", name="web"):
    return client.create_vswitch(vpc_models.CreateVSwitchRequest(
        region_id=REGION, vpc_id=vpc_id, zone_id=zone, cidr_block=cidr, v_switch_name=name)).body.v_switch_id


def _ready_vpc(client, cidr="192.168.0.0/16", name="prod"):
    created = _create_vpc(client, cidr, name)
    _wait_vpc(client, created.vpc_id)
    return created


def test_create_vpc_comes_with_a_vrouter_and_a_system_route_table_and_turns_available(emulator, vpc_client):
    created = _create_vpc(vpc_client, tag=[vpc_models.CreateVpcRequestTag(key="env", value="prod")])
    assert created.vpc_id.startswith("vpc-") and created.vrouter_id.startswith("vrt-")
    assert created.route_table_id.startswith("vtb-") and created.resource_group_id.startswith("rg-")
    assert _vpc(vpc_client, created.vpc_id).status == "Pending"
    _wait_vpc(vpc_client, created.vpc_id)

    listed = vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION)).body
    (vpc,) = listed.vpcs.vpc
    assert (vpc.vpc_name, vpc.cidr_block, vpc.status, vpc.vrouter_id) == ("prod", "192.168.0.0/16", "Available",
                                                                           created.vrouter_id)
    assert vpc.router_table_ids.router_table_ids == [created.route_table_id]
    assert [(t.key, t.value) for t in vpc.tags.tag] == [("env", "prod")]
    (vrouter,) = vpc_client.describe_vrouters(vpc_models.DescribeVRoutersRequest(region_id=REGION)).body.vrouters.vrouter
    assert (vrouter.vrouter_id, vrouter.vpc_id) == (created.vrouter_id, created.vpc_id)
    assert vrouter.route_table_ids.route_table_id == [created.route_table_id]
    (table,) = vpc_client.describe_route_tables(vpc_models.DescribeRouteTablesRequest(
        region_id=REGION, vrouter_id=created.vrouter_id)).body.route_tables.route_table
    assert table.route_table_type == "System"
    assert [e.destination_cidr_block for e in table.route_entrys.route_entry] == ["100.64.0.0/10"]
    stored = emulator.table("vpcs")[created.vpc_id]
    assert stored["Status"] == "Available" and stored["VRouterId"] == created.vrouter_id


def test_vpcs_are_per_region_and_per_account(emulator, vpc_client, make_vpc_client):
    _create_vpc(vpc_client)
    _create_vpc(vpc_client, region="cn-beijing", name="north")
    assert vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-beijing")).body.total_count == 1
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccount", "access_key_secret": "other-secret",
                                    "account": "1688000000000002"})
    other = make_vpc_client(access_key_id="LTAI5tOtherAccount", access_key_secret="other-secret")
    assert other.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION)).body.total_count == 0
    assert _error(lambda: _vpc(other, vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(
        region_id=REGION)).body.vpcs.vpc[0].vpc_id)).code == "InvalidVpcId.NotFound"


def test_create_vpc_checks_its_cidr_block_name_and_quota(emulator, vpc_client):
    for cidr in ("10.0.0.0/7", "100.64.0.0/16", "10.0.0.1/16", "not-a-cidr"):
        error = _error(lambda: _create_vpc(vpc_client, cidr=cidr))
        assert (error.code, error.status_code) == ("InvalidCidrBlock.Malformed", 400)
    assert _error(lambda: _create_vpc(vpc_client, name="http://x")).code == "InvalidVpcName.Malformed"
    assert _error(lambda: _create_vpc(vpc_client, dry_run=True)).code == "DryRunOperation"
    emulator.admin("POST", "quotas", {"region": REGION, "max_vpcs": 1})
    _create_vpc(vpc_client)
    error = _error(lambda: _create_vpc(vpc_client, cidr="10.0.0.0/8"))
    assert (error.code, error.status_code) == ("QuotaExceeded.Vpc", 403)
    assert len(emulator.table("vpcs")) == 1


def test_modify_vpc_attribute_and_describe_errors(emulator, vpc_client):
    created = _ready_vpc(vpc_client)
    vpc_client.modify_vpc_attribute(vpc_models.ModifyVpcAttributeRequest(
        region_id=REGION, vpc_id=created.vpc_id, vpc_name="renamed", description="the production VPC"))
    vpc = _vpc(vpc_client, created.vpc_id)
    assert (vpc.vpc_name, vpc.description) == ("renamed", "the production VPC")
    _create_vswitch(vpc_client, created.vpc_id, "192.168.1.0/24")
    error = _error(lambda: vpc_client.modify_vpc_attribute(vpc_models.ModifyVpcAttributeRequest(
        region_id=REGION, vpc_id=created.vpc_id, cidr_block="172.16.0.0/12")))
    assert error.code == "InvalidCidrBlock.Malformed"     # its vSwitch would fall outside
    vpc_client.modify_vpc_attribute(vpc_models.ModifyVpcAttributeRequest(
        region_id=REGION, vpc_id=created.vpc_id, cidr_block="192.168.0.0/15"))
    assert emulator.table("vpcs")[created.vpc_id]["CidrBlock"] == "192.168.0.0/15"
    error = _error(lambda: _vpc(vpc_client, "vpc-doesnotexist000000000"))
    assert (error.code, error.status_code) == ("InvalidVpcId.NotFound", 404)


def test_vswitches_sit_inside_their_vpc_without_overlap(emulator, vpc_client):
    created = _create_vpc(vpc_client)
    error = _error(lambda: _create_vswitch(vpc_client, created.vpc_id, "192.168.1.0/24"))
    assert error.code == "IncorrectVpcStatus"             # the VPC is still Pending
    _wait_vpc(vpc_client, created.vpc_id)
    vswitch_id = _create_vswitch(vpc_client, created.vpc_id, "192.168.1.0/24")
    for cidr, code in (("10.0.0.0/24", "InvalidCidrBlock.Malformed"), ("192.168.1.128/25", "InvalidCidrBlock.Overlapped"),
                       ("192.168.0.0/30", "InvalidCidrBlock.Malformed")):
        assert _error(lambda: _create_vswitch(vpc_client, created.vpc_id, cidr)).code == code
    assert _error(lambda: _create_vswitch(vpc_client, created.vpc_id, "192.168.2.0/24",
                                          zone="cn-hangzhou-z")).code == "InvalidZoneId.NotFound"
    assert _error(lambda: _create_vswitch(vpc_client, "vpc-doesnotexist000000000",
                                          "192.168.2.0/24")).code == "InvalidVpcId.NotFound"

    listed = vpc_client.describe_vswitches(vpc_models.DescribeVSwitchesRequest(region_id=REGION, vpc_id=created.vpc_id))
    (vswitch,) = listed.body.v_switches.v_switch
    assert (vswitch.v_switch_id, vswitch.zone_id, vswitch.cidr_block) == (vswitch_id, "cn-hangzhou-h", "192.168.1.0/24")
    assert vswitch.available_ip_address_count == 252 and vswitch.route_table.route_table_id == created.route_table_id
    assert _vpc(vpc_client, created.vpc_id).v_switch_ids.v_switch_id == [vswitch_id]
    entries = vpc_client.describe_route_entry_list(vpc_models.DescribeRouteEntryListRequest(
        region_id=REGION, route_table_id=created.route_table_id, route_entry_type="System")).body.route_entrys.route_entry
    assert {e.destination_cidr_block for e in entries} == {"100.64.0.0/10", "192.168.1.0/24"}


def test_delete_vpc_waits_for_its_vswitches_and_vswitch_for_its_instances(emulator, vpc_client, ecs_client):
    created = _ready_vpc(vpc_client, cidr="10.0.0.0/8", name="emulator-tests")
    (instance_id,) = run(ecs_client)    # starts in the tests' VPC: a vSwitch in cn-hangzhou-h
    vswitch_id = emulator.table("instances")[instance_id]["VpcAttributes"]["VSwitchId"]
    error = _error(lambda: vpc_client.delete_vpc(vpc_models.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id)))
    assert (error.code, error.status_code) == ("DependencyViolation", 400)
    error = _error(lambda: vpc_client.delete_vswitch(vpc_models.DeleteVSwitchRequest(
        region_id=REGION, v_switch_id=vswitch_id)))
    assert error.code == "DependencyViolation" and instance_id in error.message
    (vswitch,) = vpc_client.describe_vswitches(vpc_models.DescribeVSwitchesRequest(
        region_id=REGION, v_switch_id=vswitch_id)).body.v_switches.v_switch
    assert vswitch.available_ip_address_count == (1 << 16) - 4 - 1

    wait_for(ecs_client, [instance_id], "Running")
    from alibabacloud_ecs20140526 import models as ecs_models
    ecs_client.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    group_id = next(iter(emulator.table("security_groups")))
    ecs_client.delete_security_group(ecs_models.DeleteSecurityGroupRequest(region_id=REGION, security_group_id=group_id))
    vpc_client.delete_vswitch(vpc_models.DeleteVSwitchRequest(region_id=REGION, v_switch_id=vswitch_id))
    vpc_client.delete_vpc(vpc_models.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id))
    assert not emulator.table("vpcs") and not emulator.table("vswitches")
    assert not emulator.table("vrouters") and not emulator.table("route_tables") and not emulator.table("route_entries")
    error = _error(lambda: vpc_client.delete_vpc(vpc_models.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id)))
    assert (error.code, error.status_code) == ("InvalidVpcId.NotFound", 404)
    assert _error(lambda: vpc_client.delete_vswitch(vpc_models.DeleteVSwitchRequest(
        region_id=REGION, v_switch_id=vswitch_id))).code == "InvalidVSwitchId.NotFound"


def test_custom_route_entries_to_an_instance(emulator, vpc_client, ecs_client):
    created = _ready_vpc(vpc_client, cidr="10.0.0.0/8", name="emulator-tests")
    (instance_id,) = run(ecs_client)
    table_id = created.route_table_id

    def create(destination, next_hop=instance_id, **fields):
        return vpc_client.create_route_entry(vpc_models.CreateRouteEntryRequest(
            region_id=REGION, route_table_id=table_id, destination_cidr_block=destination, next_hop_type="Instance",
            next_hop_id=next_hop, **fields)).body.route_entry_id

    entry_id = create("172.16.0.0/16", route_entry_name="to-dc")
    assert emulator.table("route_entries")[entry_id]["Status"] == "Pending"
    assert _error(lambda: create("172.16.0.0/16")).code == "RouterEntryConflict.Duplicated"
    assert _error(lambda: create("172.17.0.0/16", next_hop="i-doesnotexist00000000")).code == "InvalidNextHopId.NotFound"
    assert _error(lambda: create("bad")).code == "InvalidDestinationCidrBlock.Malformed"
    assert _error(lambda: vpc_client.create_route_entry(vpc_models.CreateRouteEntryRequest(
        region_id=REGION, route_table_id=table_id, destination_cidr_block="172.18.0.0/16", next_hop_list=[
            vpc_models.CreateRouteEntryRequestNextHopList(next_hop_type="Instance", next_hop_id=instance_id,
                                                         weight=256)]))).code == "InvalidParameter"
    assert _error(lambda: vpc_client.create_route_entry(vpc_models.CreateRouteEntryRequest(
        region_id=REGION, route_table_id="vtb-doesnotexist00000000", destination_cidr_block="1.0.0.0/8",
        next_hop_id=instance_id))).code == "InvalidRouteTableId.NotFound"
    error = _error(lambda: vpc_client.delete_route_entry(vpc_models.DeleteRouteEntryRequest(
        region_id=REGION, route_entry_id=entry_id)))
    assert error.code == "IncorrectRouteEntryStatus"      # still Pending
    time.sleep(0.3)

    listed = vpc_client.describe_route_entry_list(vpc_models.DescribeRouteEntryListRequest(
        region_id=REGION, route_table_id=table_id, route_entry_type="Custom")).body.route_entrys.route_entry
    assert [(e.route_entry_id, e.status, e.route_entry_name) for e in listed] == [(entry_id, "Available", "to-dc")]
    assert [(h.next_hop_type, h.next_hop_id) for h in listed[0].next_hops.next_hop] == [("Instance", instance_id)]
    (table,) = vpc_client.describe_route_table_list(vpc_models.DescribeRouteTableListRequest(
        region_id=REGION, vpc_id=created.vpc_id)).body.router_table_list.router_table_list_type
    assert table.route_table_id == table_id and table.router_id == created.vrouter_id and table.v_switch_ids.v_switch_id
    in_table = vpc_client.describe_route_tables(vpc_models.DescribeRouteTablesRequest(
        region_id=REGION, route_table_id=table_id)).body.route_tables.route_table[0].route_entrys.route_entry
    assert any(e.instance_id == instance_id and e.type == "Custom" for e in in_table)
    error = _error(lambda: vpc_client.delete_vpc(vpc_models.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id)))
    assert error.code == "DependencyViolation"
    system = next(e for e in in_table if e.destination_cidr_block == "100.64.0.0/10")
    assert _error(lambda: vpc_client.delete_route_entry(vpc_models.DeleteRouteEntryRequest(
        region_id=REGION, route_entry_id=system.route_entry_id))).code == "OperationDenied.SystemRouteEntry"

    vpc_client.delete_route_entry(vpc_models.DeleteRouteEntryRequest(
        region_id=REGION, route_table_id=table_id, destination_cidr_block="172.16.0.0/16"))
    assert emulator.table("route_entries")[entry_id]["Status"] == "Deleting"
    time.sleep(0.3)
    assert entry_id not in emulator.table("route_entries")
    assert _error(lambda: vpc_client.delete_route_entry(vpc_models.DeleteRouteEntryRequest(
        region_id=REGION, route_entry_id=entry_id))).code == "InvalidRouteEntry.NotFound"


def test_paging_of_vpcs_vswitches_and_route_entries(emulator, vpc_client):
    ids = [_create_vpc(vpc_client, cidr=f"10.{n}.0.0/16", name=f"vpc{n}").vpc_id for n in range(12)]
    first = vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION, page_size=5)).body
    third = vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION, page_size=5, page_number=3)).body
    assert (first.total_count, first.page_number, first.page_size) == (12, 1, 5)
    assert [v.vpc_id for v in first.vpcs.vpc] == ids[:5] and [v.vpc_id for v in third.vpcs.vpc] == ids[10:]
    assert _error(lambda: vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(
        region_id=REGION, page_size=51))).code == "InvalidParameter"
    picked = vpc_client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=REGION, vpc_id=",".join(ids[3:5])))
    assert [v.vpc_id for v in picked.body.vpcs.vpc] == ids[3:5]

    vpc = _ready_vpc(vpc_client, cidr="192.168.0.0/16")
    for n in range(7):
        _create_vswitch(vpc_client, vpc.vpc_id, f"192.168.{n}.0/24", zone="cn-hangzhou-i" if n % 2 else "cn-hangzhou-h")
    in_i = vpc_client.describe_vswitches(vpc_models.DescribeVSwitchesRequest(region_id=REGION, zone_id="cn-hangzhou-i"))
    assert in_i.body.total_count == 3
    page = vpc_client.describe_vswitches(vpc_models.DescribeVSwitchesRequest(
        region_id=REGION, vpc_id=vpc.vpc_id, page_size=4, page_number=2)).body
    assert (page.total_count, len(page.v_switches.v_switch)) == (7, 3)

    seen, token = [], None
    while True:
        answer = vpc_client.describe_route_entry_list(vpc_models.DescribeRouteEntryListRequest(
            region_id=REGION, route_table_id=vpc.route_table_id, max_result=3, next_token=token)).body
        seen += [e.destination_cidr_block for e in answer.route_entrys.route_entry]
        token = answer.next_token
        if not token:
            break
    assert len(seen) == 8 and seen[0] == "100.64.0.0/10"


def test_networks_survive_a_restart_and_pending_ones_finish(own_emulator):
    client = VpcClient(sdk_config(own_emulator))
    ready = _ready_vpc(client)
    vswitch_id = _create_vswitch(client, ready.vpc_id, "192.168.3.0/24")
    pending = _create_vpc(client, cidr="10.0.0.0/8", name="late")
    own_emulator.restart()
    client = VpcClient(sdk_config(own_emulator))
    assert _vpc(client, ready.vpc_id).v_switch_ids.v_switch_id == [vswitch_id]
    _wait_vpc(client, pending.vpc_id)
    tables = client.describe_route_tables(vpc_models.DescribeRouteTablesRequest(region_id=REGION)).body
    assert tables.total_count == 2


def test_client_token_makes_create_vpc_and_vswitch_idempotent(emulator, vpc_client):
    first = _create_vpc(vpc_client, client_token="job-42")
    again = _create_vpc(vpc_client, client_token="job-42")
    assert (again.vpc_id, again.vrouter_id, again.route_table_id) == (first.vpc_id, first.vrouter_id,
                                                                      first.route_table_id)
    assert len(emulator.table("vpcs")) == 1 and len(emulator.table("vrouters")) == 1
    error = _error(lambda: _create_vpc(vpc_client, cidr="10.0.0.0/8", client_token="job-42"))
    assert error.code == "IdempotentParameterMismatch"
    _wait_vpc(vpc_client, first.vpc_id)
    made = [vpc_client.create_vswitch(vpc_models.CreateVSwitchRequest(
        region_id=REGION, vpc_id=first.vpc_id, zone_id="cn-hangzhou-h", cidr_block="192.168.1.0/24",
        client_token="job-43")).body.v_switch_id for _ in range(2)]
    assert made[0] == made[1] and len(emulator.table("vswitches")) == 1


def test_run_instances_needs_a_vswitch_and_security_group_that_exist(emulator, vpc_client, ecs_client):
    from alibabacloud_ecs20140526 import models as ecs_models
    from .ecs_helpers import run_request

    created = _ready_vpc(vpc_client, cidr="10.0.0.0/8")
    vswitch_id = _create_vswitch(vpc_client, created.vpc_id, "10.1.0.0/16")
    group_id = ecs_client.create_security_group(ecs_models.CreateSecurityGroupRequest(
        region_id=REGION, vpc_id=created.vpc_id, security_group_name="web")).body.security_group_id
    other_vpc = _ready_vpc(vpc_client, cidr="172.16.0.0/12", name="other")
    stranger = ecs_client.create_security_group(ecs_models.CreateSecurityGroupRequest(
        region_id=REGION, vpc_id=other_vpc.vpc_id, security_group_name="other")).body.security_group_id

    def start(**fields):
        return ecs_client.run_instances(run_request(**fields)).body.instance_id_sets.instance_id_set

    error = _error(lambda: start(v_switch_id="vsw-doesnotexist00000000", security_group_id=group_id))
    assert (error.code, error.status_code) == ("InvalidVSwitchId.NotFound", 404)
    error = _error(lambda: start(v_switch_id=vswitch_id, security_group_id="sg-doesnotexist000000000"))
    assert (error.code, error.status_code) == ("InvalidSecurityGroupId.NotFound", 404)
    assert _error(lambda: start(v_switch_id=vswitch_id, security_group_id=stranger)).code == \
        "InvalidSecurityGroup.VpcMismatch"
    assert _error(lambda: start(v_switch_id=vswitch_id)).code == "MissingParameter"
    assert not emulator.table("instances")
    time.sleep(0.3)                                        # the vSwitch is Available now
    (instance_id,) = start(v_switch_id=vswitch_id, security_group_id=group_id)
    attributes = emulator.table("instances")[instance_id]["VpcAttributes"]
    assert (attributes["VpcId"], attributes["VSwitchId"]) == (created.vpc_id, vswitch_id)
    assert attributes["PrivateIpAddress"]["IpAddress"][0].startswith("10.1.")

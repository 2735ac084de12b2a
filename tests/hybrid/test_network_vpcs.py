"""VPCs, vSwitches, VRouters and route entries (H7) through the portal's API against the emulator,
its state checked after each operation: create (waiting for Available), sync, view, delete in the
cloud or only here; a VPC that still holds vSwitches is not deleted; route entries made, waited
for and deleted."""
import time

import pytest

from apps.core.models import ChangeLog
from apps.hybrid.cloud import Cloud
from apps.hybrid.models import AlibabaRouteEntry, AlibabaVpc, AlibabaVRouter, AlibabaVSwitch
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.network_api import (ROUTES, V_ROUTERS, V_SWITCHES, VPCS, act, data_center, delete, made, v_switch,
                                      vpc)

pytestmark = pytest.mark.django_db


@pytest.fixture
def center(hybrid):
    return data_center(hybrid)


def behind_the_portals_back():
    return Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)


def until_available(read, timeout=10):
    deadline = time.monotonic() + timeout
    while read()["Status"] != "Available":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def sync(hybrid, center):
    job = hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center['uuid']}/sync/"))
    assert job["state"] == "succeeded", job
    return {kind["kind"]: kind for kind in job["result"]["kinds"]}


def test_a_vpc_is_created_available_with_its_vrouter(hybrid, center):
    made = vpc(hybrid, center, cidr="10.0.0.0/16")
    assert made["state"] == "Available" and made["vpc_id"].startswith("vpc-") and made["cidr_block"] == "10.0.0.0/16"
    record = hybrid.emulator.table("vpcs")[made["vpc_id"]]
    assert record["Status"] == "Available" and record["VpcName"] == "prod"
    assert {"Key": "cloudportal:uuid", "Value": made["uuid"]} in record["Tags"]["Tag"]
    [router] = hybrid.client.get(V_ROUTERS, {"q": f"vpc_uuid={made['uuid']}"}).json()["results"]
    assert router["v_router_id"] == record["VRouterId"] == made["v_router_id"] and router["route_table_ids"]


def test_a_v_switch_is_made_in_a_zone_of_the_data_centre_inside_its_vpc(hybrid, center):
    network = vpc(hybrid, center, cidr="10.0.0.0/16")
    zone = hybrid.zone(center, "cn-hangzhou-i")
    made = v_switch(hybrid, network, zone, cidr="10.0.1.0/24")
    assert made["state"] == "Available" and made["zone_id"] == "cn-hangzhou-i" and made["vpc_uuid"] == network["uuid"]
    record = hybrid.emulator.table("vswitches")[made["v_switch_id"]]
    assert (record["VpcId"], record["ZoneId"], record["CidrBlock"]) == (network["vpc_id"], "cn-hangzhou-i",
                                                                        "10.0.1.0/24")
    assert made["available_ip_address_count"] > 0

    def refused(cidr):
        answer = hybrid.client.post(V_SWITCHES, {"name": "x", "vpc_uuid": network["uuid"],
                                                 "identity_zone_uuid": zone["uuid"], "cidr_block": cidr}, format="json")
        assert answer.status_code == 400, answer.content
        return answer.json()["details"]

    assert "cidr_block" in refused("192.168.0.0/24")    # outside the VPC's block
    assert "cidr_block" in refused("10.0.1.128/25")     # overlaps the first vSwitch
    assert "cidr_block" in refused("10.0.2.0/30")       # smaller than the cloud's /29
    assert len(hybrid.emulator.table("vswitches")) == 1


def test_a_vpc_holding_v_switches_is_not_deleted_in_the_cloud(hybrid, center):
    network = vpc(hybrid, center)
    switch = v_switch(hybrid, network, hybrid.zone(center, "cn-hangzhou-h"))
    refused = hybrid.client.delete(f"{VPCS}{network['uuid']}/")
    assert refused.status_code == 409 and refused.json()["code"] == "ALIBABA_VPC_NOT_EMPTY"
    assert refused.json()["details"]["v_switch_ids"] == [switch["v_switch_id"]]
    assert network["vpc_id"] in hybrid.emulator.table("vpcs")

    assert delete(hybrid, V_SWITCHES, switch)["state"] == "succeeded"
    assert hybrid.emulator.table("vswitches") == {} and not AlibabaVSwitch.objects.exists()
    job = delete(hybrid, VPCS, network)
    assert job["state"] == "succeeded", job
    assert hybrid.emulator.table("vpcs") == {} and hybrid.emulator.table("vrouters") == {}
    assert not AlibabaVpc.objects.exists() and not AlibabaVRouter.objects.exists()


def test_the_clouds_refusal_of_a_vpc_with_a_v_switch_unknown_here_ends_the_job_clearly(hybrid, center):
    network = vpc(hybrid, center)
    behind_the_portals_back().vpc("CreateVSwitch", {"VpcId": network["vpc_id"], "ZoneId": "cn-hangzhou-h",
                                                    "CidrBlock": "10.0.9.0/24"})
    job = delete(hybrid, VPCS, network)
    assert job["state"] == "failed" and job["error"]["code"] == "ALIBABA_IN_USE", job
    assert job["error"]["details"]["cloud_code"] == "DependencyViolation"
    assert "vSwitch" in job["error"]["message"] and "Traceback" not in str(job)
    assert hybrid.client.get(f"{VPCS}{network['uuid']}/").json()["state"] == "Available"   # as before
    assert network["vpc_id"] in hybrid.emulator.table("vpcs")


def test_deleting_here_only_leaves_the_cloud_alone_and_a_sync_brings_it_back(hybrid, center):
    network = vpc(hybrid, center)
    v_switch(hybrid, network, hybrid.zone(center))
    assert act(hybrid, VPCS, network, "delete-here")["state"] == "succeeded"
    assert not AlibabaVpc.objects.exists()
    assert AlibabaVSwitch.objects.get().parent_vpc is None   # the VPC row only: its vSwitch stays, unlinked
    assert len(hybrid.emulator.table("vpcs")) == 1 and len(hybrid.emulator.table("vswitches")) == 1
    counts = sync(hybrid, center)
    assert counts["AlibabaVpc"]["imported"] == 1 and counts["AlibabaVSwitch"]["updated"] == 1
    back = AlibabaVSwitch.objects.get()
    assert back.parent_vpc.vpc_id == network["vpc_id"] and back.identity_zone.zone_id == "cn-hangzhou-h"
    assert AlibabaVRouter.objects.get().parent_vpc == back.parent_vpc


def test_a_sync_imports_what_was_made_in_the_cloud_marks_what_went_and_then_writes_nothing(hybrid, center):
    cloud = behind_the_portals_back()
    made = cloud.vpc("CreateVpc", {"VpcName": "outside", "CidrBlock": "192.168.0.0/16"})
    until_available(lambda: cloud.vpc("DescribeVpcs", {"VpcId": made["VpcId"]})["Vpcs"]["Vpc"][0])
    switch_id = cloud.vpc("CreateVSwitch", {"VpcId": made["VpcId"], "ZoneId": "cn-hangzhou-i",
                                            "CidrBlock": "192.168.3.0/24"})["VSwitchId"]
    until_available(lambda: cloud.vpc("DescribeVSwitches", {"VSwitchId": switch_id})["VSwitches"]["VSwitch"][0])
    counts = sync(hybrid, center)
    assert counts["AlibabaVpc"]["imported"] == 1 and counts["AlibabaVRouter"]["imported"] == 1
    assert counts["AlibabaVSwitch"]["imported"] == 1
    assert counts["AlibabaRouteEntry"]["imported"] == 2    # the service range and the vSwitch's block
    imported = AlibabaVpc.objects.get()
    assert (imported.vpc_id, imported.name, imported.cidr_block) == (made["VpcId"], "outside", "192.168.0.0/16")
    assert AlibabaVSwitch.objects.get().parent_vpc == imported
    assert set(AlibabaRouteEntry.objects.values_list("entry_type", flat=True)) == {"System"}
    listed = hybrid.client.get(ROUTES, {"q": f"v_router_uuid={AlibabaVRouter.objects.get().uuid}"}).json()
    assert {r["destination_cidr_block"] for r in listed["results"]} == {"100.64.0.0/10", "192.168.3.0/24"}

    before = ChangeLog.objects.count()
    again = sync(hybrid, center)
    assert all(kind["imported"] == kind["updated"] == kind["deleted"] == 0 for kind in again.values()), again
    assert ChangeLog.objects.count() == before

    cloud.vpc("DeleteVSwitch", {"VSwitchId": switch_id})
    counts = sync(hybrid, center)
    assert counts["AlibabaVSwitch"]["deleted"] == 1 and AlibabaVSwitch.objects.get().state == "Deleted"
    assert counts["AlibabaRouteEntry"]["deleted"] == 1
    # one a sync found gone is deleted here without a call
    gone = hybrid.client.get(V_SWITCHES).json()["results"][0]
    assert delete(hybrid, V_SWITCHES, gone)["state"] == "succeeded"
    assert not AlibabaVSwitch.objects.exists()


def test_route_entries_are_made_waited_for_and_deleted(hybrid, center):
    network = vpc(hybrid, center)
    [router] = hybrid.client.get(V_ROUTERS, {"q": f"vpc_uuid={network['uuid']}"}).json()["results"]
    response = hybrid.post(ROUTES, {"v_router_uuid": router["uuid"], "destination_cidr_block": "172.16.8.0/24",
                                    "next_hop_type": "HaVip", "next_hop_id": "havip-outside0001"})
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    entry = hybrid.client.get(f"{ROUTES}{response.json()['resource']['uuid']}/").json()
    assert entry["state"] == "Available" and entry["route_entry_id"].startswith("rte-")
    assert entry["route_table_id"] == router["route_table_ids"][0] and entry["entry_type"] == "Custom"
    record = hybrid.emulator.table("route_entries")[entry["route_entry_id"]]
    assert (record["DestinationCidrBlock"], record["Status"], record["NextHopId"]) == (
        "172.16.8.0/24", "Available", "havip-outside0001")

    twice = hybrid.client.post(ROUTES, {"v_router_uuid": router["uuid"], "destination_cidr_block": "172.16.8.0/24",
                                        "next_hop_type": "HaVip", "next_hop_id": "havip-outside0001"}, format="json")
    assert twice.status_code == 409 and twice.json()["code"] == "ALIBABA_ROUTE_EXISTS"

    counts = sync(hybrid, center)
    assert counts["AlibabaRouteEntry"]["imported"] == 1   # the VPC's system entry; the custom one is known
    system = AlibabaRouteEntry.objects.get(entry_type="System")
    refused = hybrid.client.delete(f"{ROUTES}{system.uuid}/")
    assert refused.status_code == 409 and refused.json()["code"] == "ALIBABA_SYSTEM_ROUTE"

    assert delete(hybrid, ROUTES, entry)["state"] == "succeeded"
    assert entry["route_entry_id"] not in hybrid.emulator.table("route_entries")
    assert not AlibabaRouteEntry.objects.filter(entry_type="Custom").exists()


def test_a_throttled_create_is_retried_and_makes_one_vpc(hybrid, center):
    hybrid.emulator.admin("POST", "throttle", {"product": "Vpc", "action": "CreateVpc", "times": 2,
                                               "retry_after": 0.1})
    made = vpc(hybrid, center)
    assert made["state"] == "Available" and list(hybrid.emulator.table("vpcs")) == [made["vpc_id"]]


def test_a_vpc_deleted_behind_the_portals_back_is_marked_with_its_vrouter_and_deleted_here(hybrid, center):
    cloud = behind_the_portals_back()
    made = cloud.vpc("CreateVpc", {"VpcName": "outside", "CidrBlock": "192.168.0.0/16"})
    until_available(lambda: cloud.vpc("DescribeVpcs", {"VpcId": made["VpcId"]})["Vpcs"]["Vpc"][0])
    sync(hybrid, center)
    cloud.vpc("DeleteVpc", {"VpcId": made["VpcId"]})
    counts = sync(hybrid, center)
    assert counts["AlibabaVpc"]["deleted"] == counts["AlibabaVRouter"]["deleted"] == 1
    vpc_row = hybrid.client.get(VPCS).json()["results"][0]
    router = hybrid.client.get(V_ROUTERS).json()["results"][0]
    assert vpc_row["state"] == router["state"] == "Deleted"
    assert act(hybrid, VPCS, vpc_row, "delete-here")["state"] == "succeeded"   # the VPC's row only
    assert act(hybrid, V_ROUTERS, router, "delete-here")["state"] == "succeeded"
    assert not AlibabaVpc.objects.exists() and not AlibabaVRouter.objects.exists()


def test_deleting_a_vpc_the_cloud_no_longer_has_makes_no_call_and_takes_its_vrouter(hybrid, center):
    network = vpc(hybrid, center)
    behind_the_portals_back().vpc("DeleteVpc", {"VpcId": network["vpc_id"]})
    sync(hybrid, center)
    hybrid.emulator.admin("POST", "faults", {"product": "Vpc", "action": "DeleteVpc", "code": "InternalError",
                                             "http_status": 500, "times": 1})   # would fail a call
    assert delete(hybrid, VPCS, network)["state"] == "succeeded"
    assert not AlibabaVpc.objects.exists() and not AlibabaVRouter.objects.exists()


def test_a_vpc_and_a_v_switch_made_without_a_name_are_named_after_their_block(hybrid, center):
    network = made(hybrid, VPCS, {"data_center_uuid": center["uuid"], "cidr_block": "10.0.0.0/16"})
    switch = made(hybrid, V_SWITCHES, {"vpc_uuid": network["uuid"], "identity_zone_uuid": hybrid.zone(center)["uuid"],
                                       "cidr_block": "10.0.3.0/24"})
    assert (network["name"], switch["name"]) == ("vpc-10.0.0.0-16", "vsw-10.0.3.0-24")
    assert hybrid.emulator.table("vswitches")[switch["v_switch_id"]]["VSwitchName"] == "vsw-10.0.3.0-24"

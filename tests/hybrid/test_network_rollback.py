"""Each network create is a flow that rolls back (H4, H7): a failure the emulator injects into the
create call, or into the wait after the create, leaves nothing in the cloud (``/_emulator/state``)
and no row here; the cloud's code is in the job's error."""
import pytest

from apps.hybrid.models import AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVSwitch
from tests.hybrid.network_api import EIPS, GROUPS, ROUTES, V_ROUTERS, V_SWITCHES, VPCS, data_center, vpc

pytestmark = pytest.mark.django_db


def vpc_body(hybrid, center):
    return VPCS, {"name": "doomed", "data_center_uuid": center["uuid"], "cidr_block": "10.0.0.0/16"}


def v_switch_body(hybrid, center):
    network = vpc(hybrid, center)
    return V_SWITCHES, {"name": "doomed", "vpc_uuid": network["uuid"], "cidr_block": "10.0.1.0/24",
                        "identity_zone_uuid": hybrid.zone(center)["uuid"]}


def group_body(hybrid, center):
    return GROUPS, {"name": "doomed", "vpc_uuid": vpc(hybrid, center)["uuid"]}


def eip_body(hybrid, center):
    return EIPS, {"data_center_uuid": center["uuid"]}


def route_body(hybrid, center):
    network = vpc(hybrid, center)
    [router] = hybrid.client.get(V_ROUTERS, {"q": f"vpc_uuid={network['uuid']}"}).json()["results"]
    return ROUTES, {"v_router_uuid": router["uuid"], "destination_cidr_block": "172.16.0.0/24",
                    "next_hop_type": "HaVip", "next_hop_id": "havip-doomed"}


def left_in_cloud(hybrid, kind):
    """What of ``kind`` the emulator holds (the test made none of it before the create)."""
    if kind == "route":
        return [e for e in hybrid.emulator.table("route_entries").values() if e["Type"] == "Custom"]
    if kind == "vpc":   # a VPC comes with its VRouter and route table: they go with it (the VBRs' stay)
        return [*hybrid.emulator.table("vpcs").values(), *hybrid.emulator.table("vrouters").values(),
                *[t for t in hybrid.emulator.table("route_tables").values() if t.get("RouterType") != "VBR"]]
    table = {"v_switch": "vswitches", "group": "security_groups", "eip": "eips"}[kind]
    return list(hybrid.emulator.table(table).values())


CASES = {
    # kind: (body, the create call, the describe call of the wait, product, model)
    "vpc": (vpc_body, "CreateVpc", "DescribeVpcs", "Vpc", AlibabaVpc),
    "v_switch": (v_switch_body, "CreateVSwitch", "DescribeVSwitches", "Vpc", AlibabaVSwitch),
    "group": (group_body, "CreateSecurityGroup", "DescribeSecurityGroups", "Ecs", AlibabaSecurityGroup),
    "eip": (eip_body, "AllocateEipAddress", "DescribeEipAddresses", "Vpc", AlibabaEip),
    "route": (route_body, "CreateRouteEntry", "DescribeRouteEntryList", "Vpc", AlibabaRouteEntry),
}


def rows_left(kind, model):
    rows = model.objects.filter(entry_type="Custom") if kind == "route" else model.objects.all()
    return list(rows)


@pytest.mark.parametrize("kind", CASES)
def test_a_create_the_cloud_refuses_leaves_nothing(hybrid, kind):
    make_body, create_call, _, product, model = CASES[kind]
    center = data_center(hybrid)
    url, body = make_body(hybrid, center)
    hybrid.emulator.admin("POST", "faults", {"product": product, "action": create_call, "code": "QuotaExceeded.Test",
                                             "http_status": 403, "times": 1})
    job = hybrid.job(hybrid.post(url, body))
    assert job["state"] == "failed" and job["error"]["code"] == "ALIBABA_QUOTA_EXCEEDED", job
    assert job["error"]["details"]["cloud_code"] == "QuotaExceeded.Test" and "Traceback" not in str(job)
    assert left_in_cloud(hybrid, kind) == [] and rows_left(kind, model) == []


@pytest.mark.parametrize("kind", CASES)
def test_a_failure_after_the_create_deletes_what_it_made(hybrid, kind, monkeypatch):
    from apps.hybrid.flows import network_common

    make_body, _, describe_call, product, model = CASES[kind]
    center = data_center(hybrid)
    url, body = make_body(hybrid, center)
    hybrid.emulator.admin("POST", "timing", {"transition_seconds": 0.3})
    original = network_common.WaitReady.run

    def run(step, ctx):
        hybrid.emulator.admin("POST", "faults", {"product": product, "action": describe_call, "code": "InternalError",
                                                 "http_status": 500, "times": 1})
        return original(step, ctx)

    monkeypatch.setattr(network_common.WaitReady, "run", run)
    job = hybrid.job(hybrid.post(url, body))
    assert job["state"] == "failed" and job["error"]["step"].startswith("Wait"), job
    assert job["error"]["details"]["cloud_code"] == "InternalError"
    created = [step for step in job["steps"] if step["name"].startswith("Create")]
    assert created[0]["state"] == "rolled_back", job["steps"]
    assert left_in_cloud(hybrid, kind) == [] and rows_left(kind, model) == []

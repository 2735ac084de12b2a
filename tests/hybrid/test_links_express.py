"""Express Connect (H8) through the portal's API against the emulator, its state checked after
each step: VBRs and router interfaces synced (new, changed, gone), the quick create of a VBR-VPC
link (two interfaces connected and Active, a route each side), its rollback from a failure at a
late step (nothing left in the cloud), local deletes, tenancy."""
import pytest

from apps.core.testing import client_for, make_account
from apps.hybrid.cloud import Cloud
from apps.hybrid.models import RouterInterface
from tests.emulator.conftest import make_vpc_client, vpc_client  # noqa: F401
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.emulator.vpc_fixtures import make_vpc, wait_for

pytestmark = pytest.mark.django_db
VBRS = "/api/v1/virtual-border-routers/"
INTERFACES = "/api/v1/router-interfaces/"
IDC = "192.168.0.0/16"


@pytest.fixture
def data_center(hybrid):
    hybrid.add_key()
    return hybrid.add_data_center()


def listed(hybrid, url, **query):
    response = hybrid.client.get(url, {"ordering": "created_at", **query})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def sync(hybrid, data_center):
    job = hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{data_center['uuid']}/sync/"))
    assert job["state"] == "succeeded", job
    return job


def link(hybrid, vbr, network, **extra):
    return hybrid.job(hybrid.post(f"{VBRS}{vbr['uuid']}/link-vpc/", {"vpc_id": network.vpc_id, "idc_cidr": IDC,
                                                                    "name": "idc-link", **extra}))


def custom_routes(hybrid):
    return {(e["RouteTableId"], e["DestinationCidrBlock"], e["NextHopId"])
            for e in hybrid.emulator.table("route_entries").values() if e["Type"] == "Custom"}


def test_a_sync_mirrors_the_vbrs_and_their_router_interfaces(hybrid, data_center, vpc_client):  # noqa: F811
    vbrs = listed(hybrid, VBRS)
    remote = hybrid.emulator.table("vbrs")
    assert sorted(v["vbr_id"] for v in vbrs) == sorted(remote) and len(vbrs) == 2
    first = next(v for v in vbrs if v["vbr_id"] == min(remote))
    record = remote[first["vbr_id"]]
    assert first["state"] == "active" and first["route_table_id"] == record["RouteTableId"]
    assert first["vlan_id"] == record["VlanId"] and first["access_point_id"] == record["AccessPointId"]
    assert first["data_center_uuid"] == data_center["uuid"] and first["region_id"] == "cn-hangzhou"

    # an interface made outside the portal is imported with its VBR; a gone one is marked Deleted
    network = make_vpc(vpc_client)
    cloud = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
    made = cloud.vpc("CreateRouterInterface", {
        "Role": "InitiatingSide", "RouterType": "VBR", "RouterId": first["vbr_id"], "Spec": "Small.1",
        "OppositeRegionId": "cn-hangzhou", "OppositeRouterType": "VRouter", "OppositeRouterId": network.vrouter_id,
        "Name": "made-elsewhere"})["RouterInterfaceId"]
    sync(hybrid, data_center)
    [interface] = listed(hybrid, INTERFACES)
    assert interface["router_interface_id"] == made and interface["state"] == "Idle"
    assert interface["virtual_border_router_uuid"] == first["uuid"] and interface["spec"] == "Small.1"
    assert interface["opposite_vpc_id"] == network.vpc_id
    assert listed(hybrid, INTERFACES, q=f"virtual_border_router_uuid={first['uuid']}") == [interface]

    cloud.vpc("ModifyRouterInterfaceAttribute", {"RouterInterfaceId": made, "Name": "renamed"})
    sync(hybrid, data_center)
    assert hybrid.client.get(f"{INTERFACES}{interface['uuid']}/").json()["name"] == "renamed"

    cloud.vpc("DeleteRouterInterface", {"RouterInterfaceId": made})
    wait_for(lambda: made in hybrid.emulator.table("router_interfaces"), False)
    sync(hybrid, data_center)
    assert hybrid.client.get(f"{INTERFACES}{interface['uuid']}/").json()["state"] == "Deleted"
    # DELETE deletes here only: the cloud's VBR stays
    assert hybrid.job(_delete(hybrid, f"{INTERFACES}{interface['uuid']}/"))["state"] == "succeeded"
    assert not RouterInterface.objects.exists()
    assert hybrid.job(_delete(hybrid, f"{VBRS}{first['uuid']}/"))["state"] == "succeeded"
    assert first["vbr_id"] in hybrid.emulator.table("vbrs")


def _delete(hybrid, url):
    with hybrid.capture(execute=True):
        return hybrid.client.delete(url)


def test_no_vbr_is_created_through_the_api(hybrid, data_center):
    response = hybrid.client.post(VBRS, {"name": "x"}, format="json")
    assert response.status_code == 405 and response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_link_vpc_connects_two_interfaces_and_routes_both_sides(hybrid, data_center, vpc_client):  # noqa: F811
    network = make_vpc(vpc_client, cidr="10.20.0.0/16")
    vbr = listed(hybrid, VBRS)[0]
    job = link(hybrid, vbr, network, spec="Middle.2")
    assert job["state"] == "succeeded", job
    result = job["result"]
    remote = hybrid.emulator.table("router_interfaces")
    vbr_end, vpc_end = remote[result["vbr_end"]], remote[result["vpc_end"]]
    assert (vbr_end["Status"], vpc_end["Status"]) == ("Active", "Active")
    assert vbr_end["Role"] == "InitiatingSide" and vbr_end["RouterId"] == vbr["vbr_id"]
    assert vbr_end["Spec"] == "Middle.2" and vbr_end["OppositeInterfaceId"] == result["vpc_end"]
    assert vpc_end["Role"] == "AcceptingSide" and vpc_end["RouterId"] == network.vrouter_id
    assert {"Key": "cloudportal:uuid", "Value": job["uuid"]} in vbr_end["Tags"]["Tags"]
    assert custom_routes(hybrid) == {(network.route_table_id, IDC, result["vpc_end"]),
                                     (vbr["route_table_id"], "10.20.0.0/16", result["vbr_end"])}
    rows = {r["router_interface_id"]: r for r in listed(hybrid, INTERFACES)}
    assert set(rows) == {result["vbr_end"], result["vpc_end"]}
    assert {r["state"] for r in rows.values()} == {"Active"}
    assert rows[result["vbr_end"]]["virtual_border_router_uuid"] == vbr["uuid"]
    assert rows[result["vpc_end"]]["vpc_id"] == network.vpc_id
    # the next sync finds them as they are: nothing to write
    counts = {k["kind"]: k for k in sync(hybrid, data_center)["result"]["kinds"]}
    assert counts["RouterInterface"]["imported"] == 0 and counts["RouterInterface"]["unchanged"] == 2


def test_the_vpc_may_be_picked_among_the_synced_ones(hybrid, data_center, vpc_client):  # noqa: F811
    network = make_vpc(vpc_client, cidr="10.21.0.0/16")
    sync(hybrid, data_center)
    [vpc] = listed(hybrid, "/api/v1/alibaba-vpcs/", q=f"vpc_id={network.vpc_id}")
    vbr = listed(hybrid, VBRS)[0]
    job = hybrid.job(hybrid.post(f"{VBRS}{vbr['uuid']}/link-vpc/", {"vpc_uuid": vpc["uuid"], "idc_cidr": IDC}))
    assert job["state"] == "succeeded", job
    assert hybrid.emulator.table("router_interfaces")[job["result"]["vpc_end"]]["RouterId"] == network.vrouter_id
    neither = hybrid.post(f"{VBRS}{vbr['uuid']}/link-vpc/", {"idc_cidr": IDC})
    assert neither.status_code == 400 and "vpc_id" in neither.json()["details"]


@pytest.mark.parametrize("failing", ["ConnectRouterInterface", "CreateRouteEntry"])
def test_a_failed_link_leaves_nothing_in_the_cloud(hybrid, data_center, vpc_client, failing):  # noqa: F811
    network = make_vpc(vpc_client)
    vbr = listed(hybrid, VBRS)[0]
    hybrid.emulator.admin("POST", "faults", {"product": "Vpc", "action": failing, "code": "InternalError",
                                             "message": "injected", "http_status": 500, "times": 1})
    job = link(hybrid, vbr, network)
    assert job["state"] == "failed", job
    assert job["error"]["details"]["cloud_code"] == "InternalError"
    assert hybrid.emulator.table("router_interfaces") == {}
    assert custom_routes(hybrid) == set()
    assert not RouterInterface.objects.exists()
    # the VBR is free again: the next link works
    assert link(hybrid, vbr, network)["state"] == "succeeded"


def test_link_refusals_are_the_portals_errors(hybrid, data_center):
    vbr = listed(hybrid, VBRS)[0]
    bad = hybrid.post(f"{VBRS}{vbr['uuid']}/link-vpc/", {"vpc_id": "vpc-x1", "idc_cidr": "not-a-cidr"})
    assert bad.status_code == 400 and "idc_cidr" in bad.json()["details"]
    job = hybrid.job(hybrid.post(f"{VBRS}{vbr['uuid']}/link-vpc/", {"vpc_id": "vpc-nosuchvpc", "idc_cidr": IDC}))
    assert job["state"] == "failed" and job["error"]["code"] == "ALIBABA_NOT_FOUND"


def test_another_account_sees_none_of_them(hybrid, data_center):
    vbr = listed(hybrid, VBRS)[0]
    other = client_for(make_account("someone-else"))
    assert other.get(VBRS).json()["results"] == []
    assert other.get(f"{VBRS}{vbr['uuid']}/").status_code == 404
    assert other.post(f"{VBRS}{vbr['uuid']}/link-vpc/", {"vpc_id": "vpc-a1", "idc_cidr": IDC},
                      format="json").status_code == 404


class WorkerDied(BaseException):
    """Stands for the worker process dying (nothing after it runs in this process)."""


@pytest.mark.django_db(transaction=True)
def test_what_a_dead_worker_made_is_found_by_its_tag_and_undone_by_the_reaper(
        hybrid, data_center, vpc_client, monkeypatch):  # noqa: F811
    """The worker dies right after the cloud made the VPC's end, before the job recorded its id:
    the reaper's rollback finds that end by the job's tag, and deletes both ends."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import execute_job, jobs, reap_jobs, start_job
    from apps.core.models import Job
    from apps.hybrid.cloud import Cloud as PortalCloud
    from apps.hybrid.flows.links_express import LINK_VBR_TO_VPC
    from apps.hybrid.models import VirtualBorderRouter

    network = make_vpc(vpc_client)
    vbr = VirtualBorderRouter.objects.order_by("vbr_id").first()
    calls = PortalCloud.vpc

    def vpc_then_die(self, action, params=None):
        answer = calls(self, action, params)
        if action == "CreateRouterInterface" and params.get("RouterType") == "VRouter":
            raise WorkerDied()
        return answer

    monkeypatch.setattr(PortalCloud, "vpc", vpc_then_die)
    monkeypatch.setattr(jobs, "dispatch", lambda job_uuid: None)
    job = start_job(LINK_VBR_TO_VPC, resource=vbr, args={
        "data_center_uuid": data_center["uuid"], "vbr_uuid": str(vbr.uuid), "vpc_id": network.vpc_id,
        "idc_cidr": IDC, "vpc_cidr": "", "spec": "Large.1", "name": "idc-link"})
    with pytest.raises(WorkerDied):
        execute_job(job.uuid)
    assert len(hybrid.emulator.table("router_interfaces")) == 2
    assert "vpc_end" not in Job.objects.get(pk=job.pk).context   # the id never reached the job

    monkeypatch.setattr(PortalCloud, "vpc", calls)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reap_jobs() == [job.uuid]
    assert Job.objects.get(pk=job.pk).state == "failed"
    assert hybrid.emulator.table("router_interfaces") == {}
    assert VirtualBorderRouter.objects.get(pk=vbr.pk).busy_job is None


def test_delete_link_removes_both_ends_and_their_routes_in_the_cloud(hybrid, data_center, vpc_client):  # noqa: F811
    network = make_vpc(vpc_client)
    vbr = listed(hybrid, VBRS)[0]
    assert link(hybrid, vbr, network)["state"] == "succeeded"
    vpc_end = next(r for r in listed(hybrid, INTERFACES) if r["router_type"] == "VRouter")
    job = hybrid.job(hybrid.post(f"{INTERFACES}{vpc_end['uuid']}/delete-link/"))
    assert job["state"] == "succeeded", job
    assert len(job["result"]["router_interface_ids"]) == 2 and len(job["result"]["routes_deleted"]) == 2
    assert hybrid.emulator.table("router_interfaces") == {} and custom_routes(hybrid) == set()
    assert not RouterInterface.objects.exists()
    # the VBR links again
    assert link(hybrid, vbr, network)["state"] == "succeeded"

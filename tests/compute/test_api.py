"""Zones and clusters: generated API tests plus what is specific to them."""
import pytest

from apps.core.models import Job
from apps.core.testing import APIViewTestCases
from apps.infra.models import Cluster, Host, Zone


class ZoneAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/zones/"
    model = Zone
    create_data = [{"name": "z-new"}, {"name": "z-new2", "description": "second"}]
    update_data = {"description": "changed", "name": "renamed"}

    def make_object(self, index, owner):
        return Zone.objects.create(name=f"zone-{index}")


class ClusterAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/clusters/"
    model = Cluster
    update_data = {"description": "changed"}

    def setUp(self):
        self.zone = Zone.objects.create(name="zone-for-clusters")
        self.create_data = [
            {"name": "c-new", "zone_uuid": str(self.zone.uuid), "hypervisor_type": "KVM"},
            {"name": "c-sim", "zone_uuid": str(self.zone.uuid), "hypervisor_type": "Simulator"},
        ]
        super().setUp()

    def make_object(self, index, owner):
        return Cluster.objects.create(name=f"cluster-{index}", zone=self.zone)


class HostAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects):
    """Reads only: adding and deleting hosts run flows (tests/compute/test_hosts.py)."""

    url = "/api/v1/hosts/"
    model = Host

    def setUp(self):
        self.cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
        super().setUp()

    def make_object(self, index, owner):
        return Host.objects.create(name=f"host-{index}", cluster=self.cluster, hypervisor_type="KVM",
                                   management_ip=f"10.0.0.{index + 1}", address_key=f"10.0.0.{index + 1}:7070",
                                   username="root", password="secret", agent_version="1.0",
                                   facts={"hostname": f"node{index}"}, status="Connected", cpu_num=8,
                                   memory_size=16 << 30)

    def test_a_normal_account_sees_what_it_needs_to_choose_a_host(self):
        row = self.tenant_client.get(self.detail(self.objects[0])).json()
        assert {"uuid", "name", "state", "status", "cluster_uuid", "hypervisor_type", "available_cpu",
                "available_memory"} <= set(row)
        assert "10.0.0.1" not in str(row) and "node0" not in str(row)
        assert self.tenant_client.get(self.url, {"q": "management_ip=10.0.0.1"}).status_code == 400
        assert self.tenant_client.get("/api/v1/vm-instances/",
                                      {"q": "host.management_ip=10.0.0.1"}).status_code == 400
        assert self.admin_client.get(self.url, {"q": "management_ip=10.0.0.1"}).json()["count"] == 1


pytestmark = pytest.mark.django_db


def test_cluster_with_unknown_zone_or_bad_type_is_400(admin_client):
    response = admin_client.post("/api/v1/clusters/", {"name": "c", "zone_uuid": "not-a-uuid",
                                                       "hypervisor_type": "KVM"}, format="json")
    assert response.status_code == 400
    assert response.json()["details"]["zone_uuid"] == ["'not-a-uuid' is not a uuid."]
    response = admin_client.post("/api/v1/clusters/", {"name": "c", "zone_uuid": "00000000-0000-4000-8000-000000000000",
                                                       "hypervisor_type": "KVM"}, format="json")
    assert response.status_code == 400
    assert "not found" in response.json()["details"]["zone_uuid"][0]
    zone = Zone.objects.create(name="z")
    response = admin_client.post("/api/v1/clusters/", {"name": "c", "zone_uuid": str(zone.uuid),
                                                       "hypervisor_type": "Xen"}, format="json")
    assert response.status_code == 400
    assert "hypervisor_type" in response.json()["details"]


def test_disable_and_enable_a_cluster(admin_client, tenant_client):
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"))
    url = f"/api/v1/clusters/{cluster.uuid}/"
    assert tenant_client.post(url + "disable/").status_code == 403
    response = admin_client.post(url + "disable/")
    assert response.status_code == 200 and response.json()["state"] == "Disabled"
    assert admin_client.post(url + "disable/").json()["state"] == "Disabled"  # idempotent
    assert admin_client.post(url + "enable/").json()["state"] == "Enabled"
    cluster.refresh_from_db()
    assert cluster.state == "Enabled"


def test_state_action_on_a_busy_resource_is_409_naming_the_job(admin_client):
    zone = Zone.objects.create(name="z")
    Zone.objects.filter(pk=zone.pk).update(busy_job="11111111-1111-4111-8111-111111111111")
    response = admin_client.post(f"/api/v1/zones/{zone.uuid}/disable/")
    assert response.status_code == 409
    assert response.json()["code"] == "RESOURCE_BUSY"
    assert response.json()["details"]["job_uuid"] == "11111111-1111-4111-8111-111111111111"
    assert admin_client.delete(f"/api/v1/zones/{zone.uuid}/").status_code == 409


def test_zone_delete_dry_run_lists_clusters_and_the_job_deletes_them(admin_client, django_capture_on_commit_callbacks):
    zone = Zone.objects.create(name="z")
    clusters = [Cluster.objects.create(name=f"c{i}", zone=zone) for i in range(2)]
    dry = admin_client.delete(f"/api/v1/zones/{zone.uuid}/?dry_run=true").json()
    assert [d["uuid"] for d in dry["deletes"]] == [str(c.uuid) for c in clusters] + [str(zone.uuid)]
    assert dry["blockers"] == [] and dry["can_delete"] is True
    assert Cluster.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"/api/v1/zones/{zone.uuid}/")
    assert response.status_code == 202
    job = Job.objects.get(uuid=response.json()["job"]["uuid"])
    assert job.state == "succeeded"
    assert [s["name"] for s in job.steps] == ["ClaimChildren", "DeleteChildren", "DeleteResource"]
    assert not Zone.objects.exists() and not Cluster.objects.exists()


def test_cascade_refuse_rule_blocks_delete_and_dry_run_names_blockers(admin_client):
    from apps.core.cascade import RULES, cascade

    zone = Zone.objects.create(name="z")
    cluster = Cluster.objects.create(name="c", zone=zone)
    before = list(RULES[Zone])
    cascade(Zone).refuses(Cluster, via="zone")
    RULES[Zone] = [r for r in RULES[Zone] if r.action == "refuse"]
    try:
        dry = admin_client.delete(f"/api/v1/zones/{zone.uuid}/?dry_run=true").json()
        assert dry["can_delete"] is False
        assert dry["blockers"][0]["uuid"] == str(cluster.uuid)
        response = admin_client.delete(f"/api/v1/zones/{zone.uuid}/")
        assert response.status_code == 409
        assert response.json()["code"] == "HAS_DEPENDENTS"
        assert Zone.objects.filter(pk=zone.pk).exists()
    finally:
        RULES[Zone] = before


def test_a_host_with_vms_cannot_be_deleted_and_the_dry_run_names_them(admin_client):
    from apps.compute.models import VmInstance
    from apps.infra.models import Host
    from tests.conftest import make_account

    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    host = Host.objects.create(name="h", cluster=cluster, hypervisor_type="Simulator", management_ip="127.0.0.1")
    vm = VmInstance.objects.create(name="vm", account=make_account("owner").account, host=host, cpu_num=1,
                                   memory_size=1 << 30, state="Running")
    dry = admin_client.delete(f"/api/v1/hosts/{host.uuid}/?dry_run=true").json()
    assert dry["can_delete"] is False and dry["blockers"][0]["uuid"] == str(vm.uuid)
    response = admin_client.delete(f"/api/v1/hosts/{host.uuid}/")
    assert response.status_code == 409 and response.json()["code"] == "HAS_DEPENDENTS"
    assert Host.objects.filter(pk=host.pk).exists()

"""L2/L3 networks and IP ranges through the API: generated CRUD tests, validation, delete rules."""
import pytest

from apps.core.testing import APIViewTestCases
from apps.infra.models import Zone
from apps.network import ipam
from apps.network.models import IpRange, L2Network, L3Network, UsedIp

from .conftest import create_l2, create_l3, run


class L2NetworkAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/l2-networks/"
    model = L2Network
    update_data = {"description": "changed", "name": "renamed"}

    def setUp(self):
        self.zone = Zone.objects.create(name="zone-for-l2")
        self.create_data = [
            {"name": "l2-new", "type": "NoVlan", "physical_interface": "eth1", "zone_uuid": str(self.zone.uuid)},
            {"name": "l2-new2", "physical_interface": "bond0.100", "zone_uuid": str(self.zone.uuid)},
        ]
        super().setUp()

    def make_object(self, index, owner):
        return L2Network.objects.create(name=f"l2-{index}", zone=self.zone, physical_interface=f"eth{index}")


class L3NetworkAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/l3-networks/"
    model = L3Network
    update_data = {"description": "changed", "name": "renamed"}

    def setUp(self):
        self.l2 = L2Network.objects.create(name="l2", zone=Zone.objects.create(name="z"), physical_interface="eth0")
        self.create_data = [
            {"name": "l3-new", "l2_network_uuid": str(self.l2.uuid), "dns": ["8.8.8.8"], "dhcp": True},
            {"name": "l3-nodhcp", "l2_network_uuid": str(self.l2.uuid), "dhcp": False, "category": "Public"},
        ]
        super().setUp()

    def make_object(self, index, owner):
        return L3Network.objects.create(name=f"l3-{index}", l2_network=self.l2)


pytestmark = pytest.mark.django_db

RANGE = {"start_ip": "10.0.0.10", "end_ip": "10.0.0.20", "netmask": "255.255.255.0", "gateway": "10.0.0.1"}


@pytest.fixture
def l3(admin_client, zone):
    l2 = create_l2(admin_client, zone)
    return create_l3(admin_client, l2["uuid"])


def test_l2_shows_bridge_name_and_bad_interface_is_400(admin_client, zone):
    l2 = create_l2(admin_client, zone, interface="eth0.100")
    assert l2["bridge_name"] == "br_eth0_100" and l2["cluster_uuids"] == [] and l2["type"] == "NoVlan"
    for bad in ("eth 0", "a-very-long-ifname", ""):
        response = admin_client.post("/api/v1/l2-networks/", {"name": "x", "physical_interface": bad,
                                                              "zone_uuid": str(zone.uuid)}, format="json")
        assert response.status_code == 400 and "physical_interface" in response.json()["details"], bad
    response = admin_client.post("/api/v1/l2-networks/", {"name": "x", "type": "Vxlan", "physical_interface": "eth0",
                                                          "zone_uuid": str(zone.uuid)}, format="json")
    assert response.status_code == 400 and "type" in response.json()["details"]
    response = admin_client.patch(f"/api/v1/l2-networks/{l2['uuid']}/", {"physical_interface": "eth9"}, format="json")
    assert response.status_code == 200 and response.json()["physical_interface"] == "eth0.100"


def test_l3_with_bad_dns_or_unknown_l2_is_400(admin_client, zone):
    l2 = create_l2(admin_client, zone)
    response = admin_client.post("/api/v1/l3-networks/", {"name": "x", "l2_network_uuid": l2["uuid"],
                                                          "dns": ["8.8.8"]}, format="json")
    assert response.status_code == 400 and "dns" in response.json()["details"]
    response = admin_client.post("/api/v1/l3-networks/", {"name": "x", "l2_network_uuid":
                                                          "00000000-0000-4000-8000-000000000000"}, format="json")
    assert response.status_code == 400 and "l2_network_uuid" in response.json()["details"]


def test_add_and_list_ip_ranges(admin_client, l3, tenant_client):
    url = f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/"
    response = admin_client.post(url, RANGE, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["network_cidr"] == "10.0.0.0/24" and body["name"] == "10.0.0.10-10.0.0.20"
    assert body["l3_network_uuid"] == l3["uuid"] and body["used_ip_count"] == 1  # the DHCP server's address
    second = admin_client.post(url, {**RANGE, "start_ip": "10.0.0.100", "end_ip": "10.0.0.110", "name": "b"},
                               format="json")
    assert second.status_code == 201
    listed = admin_client.get(url).json()
    assert [r["start_ip"] for r in listed] == ["10.0.0.10", "10.0.0.100"]
    detail = admin_client.get(f"/api/v1/l3-networks/{l3['uuid']}/").json()
    assert detail["netmask"] == "255.255.255.0" and detail["gateway"] == "10.0.0.1"
    assert detail["dhcp_server_ip"] == "10.0.0.10"
    assert len(detail["ip_ranges"]) == 2
    queried = admin_client.get("/api/v1/ip-ranges/", {"q": f"l3_network_uuid={l3['uuid']}", "ordering": "-name"})
    assert queried.json()["count"] == 2
    assert tenant_client.post(url, {**RANGE, "start_ip": "10.0.0.200", "end_ip": "10.0.0.201"},
                              format="json").status_code == 403
    used = admin_client.get(f"/api/v1/l3-networks/{l3['uuid']}/used-ips/").json()
    assert [(u["ip"], u["owner_type"]) for u in used] == [("10.0.0.10", "DhcpServer")]


@pytest.mark.parametrize("change,field", [
    ({"netmask": "255.0.255.0"}, "netmask"),
    ({"netmask": "255.255.255.254"}, "netmask"),
    ({"end_ip": "10.0.1.5"}, "end_ip"),
    ({"start_ip": "10.0.0.30"}, "end_ip"),
    ({"gateway": "10.9.0.1"}, "gateway"),
    ({"gateway": "10.0.0.255"}, "gateway"),
    ({"start_ip": "10.0.0.300"}, "start_ip"),
    ({"gateway": None}, "gateway"),
])
def test_bad_ip_range_is_400_with_field_details(admin_client, l3, change, field):
    body = {**RANGE, **change}
    response = admin_client.post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert field in response.json()["details"], response.json()
    assert not IpRange.objects.exists()


def test_overlapping_or_other_subnet_range_is_400(admin_client, l3):
    url = f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/"
    assert admin_client.post(url, RANGE, format="json").status_code == 201
    overlap = admin_client.post(url, {**RANGE, "start_ip": "10.0.0.20", "end_ip": "10.0.0.30"}, format="json")
    assert overlap.status_code == 400 and "overlaps" in overlap.json()["details"]["start_ip"][0]
    inside = admin_client.post(url, {**RANGE, "start_ip": "10.0.0.12", "end_ip": "10.0.0.13"}, format="json")
    assert inside.status_code == 400 and "start_ip" in inside.json()["details"]
    other = admin_client.post(url, {"start_ip": "10.1.0.10", "end_ip": "10.1.0.20", "netmask": "255.255.255.0",
                                    "gateway": "10.1.0.1"}, format="json")
    assert other.status_code == 400 and {"netmask", "gateway"} <= set(other.json()["details"])
    gateway = admin_client.post(url, {**RANGE, "start_ip": "10.0.0.50", "end_ip": "10.0.0.60",
                                      "gateway": "10.0.0.254"}, format="json")
    assert gateway.status_code == 400 and "gateway" in gateway.json()["details"]
    assert IpRange.objects.count() == 1


def test_range_with_addresses_in_use_cannot_be_deleted(admin_client, l3):
    url = f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/"
    first = admin_client.post(url, RANGE, format="json").json()
    second = admin_client.post(url, {**RANGE, "start_ip": "10.0.0.100", "end_ip": "10.0.0.110"}, format="json").json()
    l3_row = L3Network.objects.get(uuid=l3["uuid"])
    used = ipam.allocate(l3_row, ip="10.0.0.105", owner_uuid="11111111-1111-4111-8111-111111111111")
    response = admin_client.delete(f"/api/v1/ip-ranges/{second['uuid']}/")
    assert response.status_code == 409 and response.json()["code"] == "IP_RANGE_IN_USE"
    assert response.json()["details"]["used_ips"] == ["10.0.0.105"]
    # the first range holds only the DHCP server's address, but a VM uses it: also refused
    response = admin_client.delete(f"/api/v1/ip-ranges/{first['uuid']}/")
    assert response.status_code == 409
    ipam.release([used.uuid])
    assert admin_client.delete(f"/api/v1/ip-ranges/{second['uuid']}/").status_code == 204
    assert admin_client.delete(f"/api/v1/ip-ranges/{first['uuid']}/").status_code == 204
    assert not IpRange.objects.exists() and not UsedIp.objects.exists()


def test_deleting_the_dhcp_range_moves_the_dhcp_server_address(admin_client, l3):
    url = f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/"
    first = admin_client.post(url, RANGE, format="json").json()
    admin_client.post(url, {**RANGE, "start_ip": "10.0.0.100", "end_ip": "10.0.0.110"}, format="json")
    assert admin_client.delete(f"/api/v1/ip-ranges/{first['uuid']}/").status_code == 204
    assert admin_client.get(f"/api/v1/l3-networks/{l3['uuid']}/").json()["dhcp_server_ip"] == "10.0.0.100"


def test_deleting_an_l2_deletes_its_l3s_and_ranges(admin_client, zone, django_capture_on_commit_callbacks):
    l2 = create_l2(admin_client, zone)
    l3 = create_l3(admin_client, l2["uuid"], ranges=[tuple(RANGE.values())])
    dry = admin_client.delete(f"/api/v1/l2-networks/{l2['uuid']}/?dry_run=true").json()
    assert [d["resource_type"] for d in dry["deletes"]] == ["IpRange", "L3Network", "L2Network"]
    assert dry["can_delete"] is True
    _, job = run(admin_client, django_capture_on_commit_callbacks, "delete", f"/api/v1/l2-networks/{l2['uuid']}/")
    assert job["state"] == "succeeded", job
    assert job["result"]["cleanup"] == {"left": []}
    assert not L2Network.objects.exists() and not L3Network.objects.filter(uuid=l3["uuid"]).exists()
    assert not IpRange.objects.exists() and not UsedIp.objects.exists()


def test_l3_with_vm_addresses_cannot_be_deleted(admin_client, zone):
    l2 = create_l2(admin_client, zone)
    l3 = create_l3(admin_client, l2["uuid"], ranges=[tuple(RANGE.values())])
    ipam.allocate(L3Network.objects.get(uuid=l3["uuid"]), ip="10.0.0.15",
                  owner_uuid="11111111-1111-4111-8111-111111111111")
    dry = admin_client.delete(f"/api/v1/l3-networks/{l3['uuid']}/?dry_run=true").json()
    assert dry["can_delete"] is False and dry["blockers"][0]["name"] == "10.0.0.15"
    for url in (f"/api/v1/l3-networks/{l3['uuid']}/", f"/api/v1/l2-networks/{l2['uuid']}/"):
        response = admin_client.delete(url)
        assert response.status_code == 409 and response.json()["code"] == "HAS_DEPENDENTS"
    assert L3Network.objects.filter(uuid=l3["uuid"]).exists()


def test_deleting_a_zone_deletes_its_l2_networks(admin_client, zone, django_capture_on_commit_callbacks):
    l2 = create_l2(admin_client, zone)
    create_l3(admin_client, l2["uuid"], ranges=[tuple(RANGE.values())])
    _, job = run(admin_client, django_capture_on_commit_callbacks, "delete", f"/api/v1/zones/{zone.uuid}/")
    assert job["state"] == "succeeded", job
    assert not L2Network.objects.exists() and not L3Network.objects.exists()


def test_query_l2_by_attached_cluster_and_l3_by_zone(admin_client, zone, sim_cluster):
    l2 = create_l2(admin_client, zone)
    L2Network.objects.get(uuid=l2["uuid"]).clusters.add(sim_cluster)
    create_l2(admin_client, zone, interface="eth1", name="other")
    found = admin_client.get("/api/v1/l2-networks/", {"q": f"clusters.uuid={sim_cluster.uuid}"}).json()
    assert [r["uuid"] for r in found["results"]] == [l2["uuid"]]
    l3 = create_l3(admin_client, l2["uuid"])
    found = admin_client.get("/api/v1/l3-networks/", {"q": [f"zone_uuid={zone.uuid}", "l2_network.name=l2"]}).json()
    assert [r["uuid"] for r in found["results"]] == [l3["uuid"]]


def test_used_ips_show_a_normal_account_only_its_own_addresses(admin_client, zone):
    from apps.compute.models import VmInstance, VmNic
    from tests.conftest import client_for, make_account

    l2 = create_l2(admin_client, zone)
    l3 = create_l3(admin_client, l2["uuid"], ranges=[tuple(RANGE.values())])
    l3_row = L3Network.objects.get(uuid=l3["uuid"])
    users = {name: make_account(name) for name in ("alice", "bob")}
    addresses = {}
    for name, ip in (("alice", "10.0.0.15"), ("bob", "10.0.0.16")):
        vm = VmInstance.objects.create(name=f"vm-{name}", account=users[name].account, cpu_num=1,
                                       memory_size=1 << 30, state="Running")
        used = ipam.allocate(l3_row, ip=ip, owner_uuid=vm.uuid, with_mac=True)
        VmNic.objects.create(vm_instance=vm, l3_network=l3_row, used_ip=used, ip=used.ip, mac=used.mac,
                             netmask="255.255.255.0")
        addresses[name] = (used.ip, used.mac, str(vm.uuid))
    url = f"/api/v1/l3-networks/{l3['uuid']}/used-ips/"

    def seen(client):
        response = client.get(url)
        assert response.status_code == 200, response.content
        return [(u["ip"], u["mac"], u["owner_uuid"]) for u in response.json() if u["owner_type"] == "VmNic"], \
            response.content.decode()

    for name, other in (("alice", "bob"), ("bob", "alice")):
        rows, text = seen(client_for(users[name]))
        assert rows == [addresses[name]]
        assert not any(value in text for value in addresses[other])  # neither its uuid, IP nor MAC
        assert "DhcpServer" not in text
    rows, text = seen(admin_client)
    assert rows == [addresses["alice"], addresses["bob"]]
    assert "DhcpServer" in text

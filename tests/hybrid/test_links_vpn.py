"""VPN (H9) through the portal's API against the emulator, its state checked after each step:
VPN gateways synced and deleted here only; customer gateways created, renamed, deleted in the
cloud; VPN connections created with typed IKE/IPsec settings (sent as the SDK's JSON), modified,
deleted; the quick create of all three and its rollback; secrets never shown or kept."""
import pytest

from apps.core.models import Job
from apps.core.testing import client_for, make_account
from apps.hybrid.cloud import Cloud
from apps.hybrid.models import CustomerGateway, VpnConnection, VpnGateway
from tests.emulator.conftest import make_vpc_client, vpc_client  # noqa: F401
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.emulator.vpc_fixtures import make_vpc, wait_for

pytestmark = pytest.mark.django_db
GATEWAYS = "/api/v1/vpn-gateways/"
CUSTOMERS = "/api/v1/customer-gateways/"
CONNECTIONS = "/api/v1/vpn-connections/"
PSK = "Pre-Shared-Key-42"
IKE = {"ike_version": "ikev2", "ike_enc_alg": "aes256", "ike_auth_alg": "sha256", "ike_pfs": "group14",
       "ike_lifetime": 28800, "ipsec_enc_alg": "aes256", "ipsec_auth_alg": "sha256", "ipsec_pfs": "disabled",
       "ipsec_lifetime": 3600}


@pytest.fixture
def data_center(hybrid):
    hybrid.add_key()
    return hybrid.add_data_center()


def cloud():
    return Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)


def listed(hybrid, url, **query):
    response = hybrid.client.get(url, {"ordering": "created_at", **query})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def sync(hybrid, data_center):
    job = hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{data_center['uuid']}/sync/"))
    assert job["state"] == "succeeded", job
    return job


def delete(hybrid, url):
    with hybrid.capture(execute=True):
        return hybrid.client.delete(url)


def remote(hybrid, table):
    return hybrid.emulator.table(table)


@pytest.fixture
def gateway(hybrid, data_center, vpc_client):  # noqa: F811
    """A VPN gateway made outside the portal (no API creates one alone), synced."""
    network = make_vpc(vpc_client)
    gateway_id = cloud().vpc("CreateVpnGateway", {"VpcId": network.vpc_id, "Bandwidth": 10,
                                                  "Name": "made-elsewhere"})["VpnGatewayId"]
    wait_for(lambda: remote(hybrid, "vpn_gateways")[gateway_id]["Status"], "active")
    sync(hybrid, data_center)
    [row] = listed(hybrid, GATEWAYS)
    return row


def make_customer_gateway(hybrid, data_center, **extra):
    response = hybrid.post(CUSTOMERS, {"name": "idc-1", "data_center_uuid": data_center["uuid"],
                                       "ip_address": "203.0.113.7", **extra})
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    return hybrid.client.get(f"{CUSTOMERS}{response.json()['resource']['uuid']}/").json()


def test_vpn_gateways_are_synced_and_deleted_here_only(hybrid, data_center, gateway):
    record = remote(hybrid, "vpn_gateways")[gateway["vpn_gateway_id"]]
    assert gateway["state"] == "active" and gateway["internet_ip"] == record["InternetIp"]
    assert gateway["vpc_id"] == record["VpcId"] and gateway["spec"] == "10M" and gateway["name"] == "made-elsewhere"
    assert hybrid.client.post(GATEWAYS, {"name": "x"}, format="json").status_code == 405
    assert hybrid.job(delete(hybrid, f"{GATEWAYS}{gateway['uuid']}/"))["state"] == "succeeded"
    assert not VpnGateway.objects.exists() and gateway["vpn_gateway_id"] in remote(hybrid, "vpn_gateways")
    # the next sync imports it again: it is still there
    sync(hybrid, data_center)
    assert [g["vpn_gateway_id"] for g in listed(hybrid, GATEWAYS)] == [gateway["vpn_gateway_id"]]


def test_customer_gateway_create_rename_delete(hybrid, data_center):
    customer = make_customer_gateway(hybrid, data_center, asn="65001", auth_key="bgp-secret-1")
    record = remote(hybrid, "customer_gateways")[customer["customer_gateway_id"]]
    assert (record["IpAddress"], record["Name"], str(record["Asn"])) == ("203.0.113.7", "idc-1", "65001")
    assert record["AuthKey"] == "bgp-secret-1"
    assert customer["state"] == "Available" and customer["ip_address"] == "203.0.113.7"
    assert "auth_key" not in customer
    job = Job.objects.get(resource_uuid=customer["uuid"])
    assert "bgp-secret-1" not in str(job.args) and "bgp-secret-1" not in str(job.context)

    renamed = hybrid.job(hybrid.post(f"{CUSTOMERS}{customer['uuid']}/rename/", {"name": "idc-main"}))
    assert renamed["state"] == "succeeded", renamed
    assert remote(hybrid, "customer_gateways")[customer["customer_gateway_id"]]["Name"] == "idc-main"
    assert hybrid.client.get(f"{CUSTOMERS}{customer['uuid']}/").json()["name"] == "idc-main"

    assert hybrid.job(delete(hybrid, f"{CUSTOMERS}{customer['uuid']}/"))["state"] == "succeeded"
    assert remote(hybrid, "customer_gateways") == {} and not CustomerGateway.objects.exists()


def test_customer_gateway_refusals(hybrid, data_center):
    bad = hybrid.post(CUSTOMERS, {"name": "x", "data_center_uuid": data_center["uuid"], "ip_address": "127.0.0.1"})
    assert bad.status_code == 400 and "ip_address" in bad.json()["details"]
    make_customer_gateway(hybrid, data_center)
    # the cloud takes one customer gateway per address: its refusal is the job's error, and no row stays
    job = hybrid.job(hybrid.post(CUSTOMERS, {"name": "again", "data_center_uuid": data_center["uuid"],
                                             "ip_address": "203.0.113.7"}))
    assert job["state"] == "failed" and job["error"]["details"]["cloud_code"] == "InvalidIpAddress.AlreadyExist"
    assert CustomerGateway.objects.count() == 1 and len(remote(hybrid, "customer_gateways")) == 1


def test_connection_with_typed_ike_and_ipsec_settings_modify_and_delete(hybrid, data_center, gateway):
    customer = make_customer_gateway(hybrid, data_center)
    response = hybrid.post(CONNECTIONS, {
        "name": "to-idc", "vpn_gateway_uuid": gateway["uuid"], "customer_gateway_uuid": customer["uuid"],
        "local_subnet": "10.20.0.0/16", "remote_subnet": "192.168.0.0/16, 172.16.0.0/12", "psk": PSK,
        "effect_immediately": True, **IKE})
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    connection = hybrid.client.get(f"{CONNECTIONS}{response.json()['resource']['uuid']}/").json()
    record = remote(hybrid, "vpn_connections")[connection["vpn_connection_id"]]
    assert record["IkeConfig"]["IkeVersion"] == "ikev2" and record["IkeConfig"]["IkeEncAlg"] == "aes256"
    assert record["IkeConfig"]["Psk"] == PSK and record["IkeConfig"]["IkeLifetime"] == 28800
    assert record["IpsecConfig"]["IpsecPfs"] == "disabled" and record["IpsecConfig"]["IpsecLifetime"] == 3600
    assert record["RemoteSubnet"] == "192.168.0.0/16,172.16.0.0/12" and record["EffectImmediately"] is True
    assert connection["ike_enc_alg"] == "aes256" and connection["ipsec_pfs"] == "disabled"
    assert connection["vpn_gateway_uuid"] == gateway["uuid"] and connection["customer_gateway_uuid"] == customer["uuid"]
    assert "psk" not in connection and PSK not in str(job) and PSK not in str(Job.objects.get(uuid=job["uuid"]).args)

    changed = hybrid.job(hybrid.post(f"{CONNECTIONS}{connection['uuid']}/modify/",
                                     {"ike_enc_alg": "aes", "ipsec_lifetime": 7200, "name": "to-idc-2"}))
    assert changed["state"] == "succeeded", changed
    record = remote(hybrid, "vpn_connections")[connection["vpn_connection_id"]]
    assert record["IkeConfig"]["IkeEncAlg"] == "aes" and record["IkeConfig"]["Psk"] == PSK   # kept
    assert record["IpsecConfig"]["IpsecLifetime"] == 7200 and record["Name"] == "to-idc-2"
    shown = hybrid.client.get(f"{CONNECTIONS}{connection['uuid']}/").json()
    assert (shown["ike_enc_alg"], shown["ipsec_lifetime"], shown["name"]) == ("aes", 7200, "to-idc-2")

    # the customer gateway is in use: the cloud refuses to delete it, and the row stays as it was
    refused = hybrid.job(delete(hybrid, f"{CUSTOMERS}{customer['uuid']}/"))
    assert refused["state"] == "failed"
    assert refused["error"]["details"]["cloud_code"] == "DependencyViolation.VpnConnection"
    assert hybrid.client.get(f"{CUSTOMERS}{customer['uuid']}/").json()["state"] == "Available"

    assert hybrid.job(delete(hybrid, f"{CONNECTIONS}{connection['uuid']}/"))["state"] == "succeeded"
    assert remote(hybrid, "vpn_connections") == {} and not VpnConnection.objects.exists()


def test_a_sync_marks_a_connection_deleted_in_the_cloud(hybrid, data_center, gateway):
    customer = make_customer_gateway(hybrid, data_center)
    response = hybrid.post(CONNECTIONS, {"name": "c", "vpn_gateway_uuid": gateway["uuid"],
                                         "customer_gateway_uuid": customer["uuid"], "local_subnet": "10.20.0.0/16",
                                         "remote_subnet": "192.168.0.0/16"})
    assert hybrid.job(response)["state"] == "succeeded"
    connection = hybrid.client.get(f"{CONNECTIONS}{response.json()['resource']['uuid']}/").json()
    assert connection["state"] == "ike_sa_not_established"   # no EffectImmediately: it waits for traffic
    cloud().vpc("DeleteVpnConnection", {"VpnConnectionId": connection["vpn_connection_id"]})
    sync(hybrid, data_center)
    assert hybrid.client.get(f"{CONNECTIONS}{connection['uuid']}/").json()["state"] == "Deleted"
    # gone in the cloud: DELETE deletes the row without a call
    assert hybrid.job(delete(hybrid, f"{CONNECTIONS}{connection['uuid']}/"))["state"] == "succeeded"
    assert not VpnConnection.objects.exists()


def quick(hybrid, data_center, network, **extra):
    return hybrid.post(f"{CONNECTIONS}quick-create/", {
        "name": "branch", "data_center_uuid": data_center["uuid"], "vpc_id": network.vpc_id, "bandwidth": 20,
        "customer_gateway_ip": "198.51.100.20", "local_subnet": "10.20.0.0/16", "remote_subnet": "192.168.0.0/16",
        "psk": PSK, "effect_immediately": True, **IKE, **extra})


def test_quick_create_makes_gateway_customer_gateway_and_connection(hybrid, data_center, vpc_client):  # noqa: F811
    network = make_vpc(vpc_client)
    response = quick(hybrid, data_center, network)
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    [gateway] = remote(hybrid, "vpn_gateways").values()
    [customer] = remote(hybrid, "customer_gateways").values()
    [connection] = remote(hybrid, "vpn_connections").values()
    assert gateway["VpcId"] == network.vpc_id and gateway["Status"] == "active" and gateway["Spec"] == "20M"
    assert customer["IpAddress"] == "198.51.100.20"
    assert (connection["VpnGatewayId"], connection["CustomerGatewayId"]) == (gateway["VpnGatewayId"],
                                                                             customer["CustomerGatewayId"])
    assert connection["IkeConfig"]["Psk"] == PSK and connection["IpsecConfig"]["IpsecEncAlg"] == "aes256"
    row = hybrid.client.get(f"{CONNECTIONS}{response.json()['resource']['uuid']}/").json()
    assert row["vpn_connection_id"] == connection["VpnConnectionId"]
    assert [g["vpn_gateway_id"] for g in listed(hybrid, GATEWAYS)] == [gateway["VpnGatewayId"]]
    assert listed(hybrid, GATEWAYS)[0]["state"] == "active"
    assert [c["customer_gateway_id"] for c in listed(hybrid, CUSTOMERS)] == [customer["CustomerGatewayId"]]
    # no row is left claimed by the job, and a sync changes nothing
    assert not any(model.objects.filter(busy_job__isnull=False).exists()
                   for model in (VpnGateway, CustomerGateway, VpnConnection))
    kinds = {k["kind"]: k for k in sync(hybrid, data_center)["result"]["kinds"]}
    assert all(kinds[name]["imported"] == 0 for name in ("VpnGateway", "CustomerGateway", "VpnConnection"))


@pytest.mark.parametrize("failing", ["CreateCustomerGateway", "CreateVpnConnection"])
def test_a_failed_quick_create_leaves_nothing(hybrid, data_center, vpc_client, failing):  # noqa: F811
    network = make_vpc(vpc_client)
    hybrid.emulator.admin("POST", "faults", {"product": "Vpc", "action": failing, "code": "InternalError",
                                             "message": "injected", "http_status": 500, "times": 1})
    job = hybrid.job(quick(hybrid, data_center, network))
    assert job["state"] == "failed", job
    assert job["error"]["details"]["action"] == failing
    for table in ("vpn_gateways", "customer_gateways", "vpn_connections"):
        assert remote(hybrid, table) == {}, table
    assert not (VpnGateway.objects.exists() or CustomerGateway.objects.exists() or VpnConnection.objects.exists())


def test_another_account_sees_none_of_them(hybrid, data_center):
    customer = make_customer_gateway(hybrid, data_center)
    other = client_for(make_account("someone-else-vpn"))
    assert other.get(CUSTOMERS).json()["results"] == []
    assert other.post(f"{CUSTOMERS}{customer['uuid']}/rename/", {"name": "x"}, format="json").status_code == 404
    refused = other.post(CUSTOMERS, {"name": "x", "data_center_uuid": data_center["uuid"],
                                     "ip_address": "203.0.113.9"}, format="json")
    assert refused.status_code == 400 and "data_center_uuid" in refused.json()["details"]


def test_a_sync_with_nothing_changed_writes_nothing(hybrid, data_center, vpc_client):  # noqa: F811
    network = make_vpc(vpc_client)
    assert hybrid.job(quick(hybrid, data_center, network, effect_immediately=False))["state"] == "succeeded"
    vbr = listed(hybrid, "/api/v1/virtual-border-routers/")[0]
    linked = hybrid.job(hybrid.post(f"/api/v1/virtual-border-routers/{vbr['uuid']}/link-vpc/",
                                    {"vpc_id": network.vpc_id, "idc_cidr": "192.168.0.0/16"}))
    assert linked["state"] == "succeeded", linked
    sync(hybrid, data_center)
    before = {model: list(model.objects.values_list("uuid", "updated_at")) for model in
              (VpnGateway, CustomerGateway, VpnConnection)}
    kinds = {k["kind"]: k for k in sync(hybrid, data_center)["result"]["kinds"]}
    for name in ("VirtualBorderRouter", "RouterInterface", "VpnGateway", "CustomerGateway", "VpnConnection"):
        assert (kinds[name]["imported"], kinds[name]["updated"], kinds[name]["deleted"]) == (0, 0, 0), kinds[name]
    assert kinds["RouterInterface"]["unchanged"] == 2 and kinds["VpnConnection"]["unchanged"] == 1
    assert before == {model: list(model.objects.values_list("uuid", "updated_at")) for model in before}


class WorkerDied(BaseException):
    """Stands for the worker process dying (nothing after it runs in this process)."""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dies_after", ["CreateVpnGateway", "CreateCustomerGateway", "CreateVpnConnection"])
def test_what_a_dead_worker_made_is_found_and_undone_by_the_reaper(hybrid, data_center, vpc_client,  # noqa: F811
                                                                   monkeypatch, dies_after):
    """The worker dies right after a create answered, before the job recorded the id: the reaper's
    rollback finds what was made (a customer gateway and a connection by their tag, the gateway
    by its VPC and name) and deletes it all, rows included."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import execute_job, jobs, reap_jobs
    from apps.hybrid.cloud import Cloud as PortalCloud

    network = make_vpc(vpc_client)
    calls = PortalCloud.vpc

    def vpc_then_die(self, action, params=None):
        answer = calls(self, action, params)
        if action == dies_after:
            raise WorkerDied()
        return answer

    dispatched = []
    monkeypatch.setattr(jobs, "dispatch", dispatched.append)
    response = quick(hybrid, data_center, network)
    assert response.status_code == 202, response.content
    monkeypatch.setattr(PortalCloud, "vpc", vpc_then_die)
    with pytest.raises(WorkerDied):
        execute_job(dispatched[0])
    made = {"CreateVpnGateway": "vpn_gateways", "CreateCustomerGateway": "customer_gateways",
            "CreateVpnConnection": "vpn_connections"}[dies_after]
    assert len(remote(hybrid, made)) == 1

    monkeypatch.setattr(PortalCloud, "vpc", calls)
    Job.objects.filter(uuid=dispatched[0]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reap_jobs() == [dispatched[0]]
    for table in ("vpn_gateways", "customer_gateways", "vpn_connections"):
        assert remote(hybrid, table) == {}, table
    assert not (VpnGateway.objects.exists() or CustomerGateway.objects.exists() or VpnConnection.objects.exists())


def test_delete_here_leaves_the_cloud_alone_and_a_gone_row_cannot_change(hybrid, data_center, gateway):
    customer = make_customer_gateway(hybrid, data_center)
    response = hybrid.post(CONNECTIONS, {"name": "c", "vpn_gateway_uuid": gateway["uuid"],
                                         "customer_gateway_uuid": customer["uuid"], "local_subnet": "10.20.0.0/16",
                                         "remote_subnet": "192.168.0.0/16"})
    assert hybrid.job(response)["state"] == "succeeded"
    connection = hybrid.client.get(f"{CONNECTIONS}{response.json()['resource']['uuid']}/").json()
    here = hybrid.job(hybrid.post(f"{CONNECTIONS}{connection['uuid']}/delete-here/"))
    assert here["state"] == "succeeded" and not VpnConnection.objects.exists()
    assert connection["vpn_connection_id"] in remote(hybrid, "vpn_connections")
    sync(hybrid, data_center)   # back, as the cloud has it
    [back] = listed(hybrid, CONNECTIONS)
    assert back["vpn_connection_id"] == connection["vpn_connection_id"]
    assert back["customer_gateway_uuid"] == customer["uuid"] and back["vpn_gateway_uuid"] == gateway["uuid"]

    cloud().vpc("DeleteVpnConnection", {"VpnConnectionId": back["vpn_connection_id"]})
    sync(hybrid, data_center)
    refused = hybrid.post(f"{CONNECTIONS}{back['uuid']}/modify/", {"ike_enc_alg": "aes"})
    assert refused.status_code == 409 and refused.json()["details"]["state"] == "Deleted"


def test_a_normal_account_runs_the_vpn_quick_create_on_its_own_data_centre(cloud, vpc_client,  # noqa: F811
                                                                             django_capture_on_commit_callbacks):
    from tests.hybrid.conftest import Hybrid

    tenant = Hybrid(client_for(make_account("vpn-tenant")), django_capture_on_commit_callbacks, cloud)
    tenant.add_key()
    data_center = tenant.add_data_center()
    network = make_vpc(vpc_client)
    job = tenant.job(quick(tenant, data_center, network))
    assert job["state"] == "succeeded", job
    assert len(listed(tenant, CONNECTIONS)) == 1 and len(listed(tenant, GATEWAYS)) == 1
    assert len(remote(tenant, "vpn_connections")) == 1

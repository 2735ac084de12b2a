"""Prometheus service discovery served by the portal (GET /api/v1/monitoring/prometheus-targets/),
and the sample interval the portal hands the agents."""
import http.client
import uuid

import pytest

from apps.core.models import GlobalConfig
from apps.infra.models import Cluster, Host, HostStatus, Zone
from apps.infra.ping import ping_due_hosts
from hostagent.signing import metrics_token

URL = "/api/v1/monitoring/prometheus-targets/"


def make_host(cluster, status=HostStatus.CONNECTED, **extra):
    fields = dict(name=f"h-{uuid.uuid4().hex[:6]}", cluster=cluster, hypervisor_type=cluster.hypervisor_type,
                  management_ip="10.0.0.5", agent_port=7070, agent_secret=uuid.uuid4().hex, status=status,
                  cpu_num=8, memory_size=16 << 30)
    if cluster.hypervisor_type == "KVM":
        fields["address_key"] = f"{fields['management_ip']}:{uuid.uuid4().int % 60000}"
    fields.update(extra)
    return Host.objects.create(**fields)


@pytest.fixture
def clusters(db):
    zone = Zone.objects.create(name="z")
    return (Cluster.objects.create(name="kvm", zone=zone, hypervisor_type="KVM"),
            Cluster.objects.create(name="sim", zone=zone, hypervisor_type="Simulator"))


@pytest.mark.django_db
def test_one_target_group_per_connected_host(admin_client, clusters, settings):
    kvm, sim = clusters
    settings.SIM_AGENT_URL = "http://127.0.0.1:7071"
    assert admin_client.get(URL).json() == []
    a = make_host(kvm, management_ip="10.0.0.5", agent_port=7070)
    b = make_host(sim)
    v6 = make_host(kvm, management_ip="fd00::5", agent_port=7171)
    make_host(kvm, status=HostStatus.DISCONNECTED)
    make_host(kvm, status=HostStatus.CONNECTING)
    response = admin_client.get(URL, HTTP_ACCEPT="application/json, text/html")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    groups = {g["labels"]["host_uuid"]: g for g in response.json()}
    assert set(groups) == {str(a.uuid), str(b.uuid), str(v6.uuid)}
    assert groups[str(a.uuid)] == {"targets": ["10.0.0.5:7070"], "labels": {
        "__metrics_path__": f"/metrics/{a.uuid}", "__param_token": metrics_token(a.agent_secret, str(a.uuid)),
        "host_uuid": str(a.uuid), "cluster_uuid": str(kvm.uuid), "zone_uuid": str(kvm.zone.uuid)}}
    assert groups[str(b.uuid)]["targets"] == ["127.0.0.1:7071"]   # simulated hosts share the simulator
    assert groups[str(b.uuid)]["labels"]["cluster_uuid"] == str(sim.uuid)
    assert groups[str(v6.uuid)]["targets"] == ["[fd00::5]:7171"]
    # the token reads metrics only: it is not the secret that signs operations
    assert all(g["labels"]["__param_token"] != h.agent_secret for g, h in ((groups[str(a.uuid)], a),))
    # a host that connects is in the next answer
    c = make_host(kvm, status=HostStatus.DISCONNECTED)
    assert str(c.uuid) not in str(admin_client.get(URL).json())
    c.status = HostStatus.CONNECTED
    c.save(update_fields=["status"])
    assert str(c.uuid) in {g["labels"]["host_uuid"] for g in admin_client.get(URL).json()}


@pytest.mark.django_db
def test_only_admins_get_the_targets(tenant_client, client, clusters):
    make_host(clusters[0])
    response = tenant_client.get(URL)
    assert response.status_code == 403 and response.json()["code"] and "__param_token" not in response.content.decode()
    response = client.get(URL)
    assert response.status_code == 401 and "__param_token" not in response.content.decode()


@pytest.mark.django_db
def test_the_discovered_token_opens_that_hosts_metrics_only(admin_client, sim_agent, clusters):
    sim = clusters[1]
    host = make_host(sim)
    other = make_host(sim)
    for h in (host, other):
        assert sim_agent.admin("POST", "/sim/hosts", {"host_uuid": str(h.uuid), "secret": h.agent_secret,
                                                      "cpu_num": 4, "memory_size": 8 << 30})[0] == 200
    groups = {g["labels"]["host_uuid"]: g for g in admin_client.get(URL).json()}
    labels = groups[str(host.uuid)]["labels"]

    def scrape(path):
        conn = http.client.HTTPConnection(*groups[str(host.uuid)]["targets"][0].split(":"), timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()

    status, body = scrape(f"{labels['__metrics_path__']}?token={labels['__param_token']}")
    assert status == 200 and f'cloudportal_host_cpu_percent{{host_uuid="{host.uuid}"}}' in body
    assert scrape(f"/metrics/{other.uuid}?token={labels['__param_token']}")[0] == 401


@pytest.mark.django_db
def test_agents_sample_as_often_as_the_global_config_says(admin_client, sim_agent, clusters,
                                                          django_capture_on_commit_callbacks):
    config = admin_client.get("/api/v1/global-configs/monitoring/sampleInterval/").json()
    assert config["value"] == 10 and config["type"] == "int"
    for bad in (0, 3601, "often"):
        response = admin_client.patch("/api/v1/global-configs/monitoring/sampleInterval/", {"value": bad},
                                      format="json")
        assert response.status_code == 400, bad
    assert admin_client.patch("/api/v1/global-configs/monitoring/sampleInterval/", {"value": 4},
                              format="json").status_code == 200
    # connect (adding a host) sends it
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/hosts/", {
            "name": "s1", "cluster_uuid": str(clusters[1].uuid), "hypervisor_type": "Simulator", "cpu_num": 4,
            "memory_size": 8 << 30}, format="json")
    assert admin_client.get(response["Location"]).json()["state"] == "succeeded"
    assert sim_agent.admin("GET", "/sim/stats")[1]["sample_interval"] == 4
    # a change reaches the agents with the next ping, without a reconnect
    GlobalConfig.objects.filter(category="monitoring", name="sampleInterval").update(value=7)
    Host.objects.update(last_ping_at=None)
    from apps.core.globalconfig.registry import clear_cache
    clear_cache()
    assert ping_due_hosts()["pinged"] == 1
    assert sim_agent.admin("GET", "/sim/stats")[1]["sample_interval"] == 7
    admin_client.delete("/api/v1/global-configs/monitoring/sampleInterval/")
    Host.objects.update(last_ping_at=None)
    ping_due_hosts()
    assert sim_agent.admin("GET", "/sim/stats")[1]["sample_interval"] == 10

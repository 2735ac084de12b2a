"""Simulator hosts end to end through the API and the real simulator agent:
add (flow + job), facts/capacity, ping, fault injection -> Disconnected and back."""
import pytest

from apps.core.models import GlobalConfig
from apps.infra.models import Cluster, Host, Zone
from apps.infra.ping import ping_due_hosts

GIB = 1024 ** 3


@pytest.fixture
def sim_cluster(db):
    return Cluster.objects.create(name="sim", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")


def add_host(client, cluster, name="h1", cpu_num=8, memory_size=16 * GIB, capture=None):
    body = {"name": name, "cluster_uuid": str(cluster.uuid), "hypervisor_type": "Simulator",
            "cpu_num": cpu_num, "memory_size": memory_size}
    with capture(execute=True):
        return client.post("/api/v1/hosts/", body, format="json")


def set_config(name, value):
    GlobalConfig.objects.update_or_create(category="host", name=name, defaults={"type": "int", "value": value})


@pytest.mark.django_db
def test_add_simulator_host_connects_with_facts_and_capacity(admin_client, sim_agent, sim_cluster,
                                                             django_capture_on_commit_callbacks):
    response = add_host(admin_client, sim_cluster, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job = admin_client.get(response["Location"]).json()
    assert job["state"] == "succeeded", job
    host = admin_client.get(f"/api/v1/hosts/{response.json()['resource']['uuid']}/").json()
    assert host["status"] == "Connected" and host["state"] == "Enabled"
    assert host["cpu_num"] == 8 and host["memory_size"] == 16 * GIB
    assert host["total_cpu"] == 80 and host["available_cpu"] == 80  # ratio 10
    assert host["total_memory"] == 16 * GIB
    assert host["agent_version"] and host["facts"]["cpu_num"] == 8
    assert "agent_secret" not in host and "password" not in host
    listed = admin_client.get("/api/v1/hosts/", {"q": ["status=Connected", "cluster.zone.name=z"]}).json()
    assert listed["count"] == 1


@pytest.mark.django_db
def test_failed_add_leaves_nothing_behind(admin_client, sim_agent, sim_cluster, django_capture_on_commit_callbacks):
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": None, "path": "/v1/host/connect", "mode": "fail",
                                            "count": None})
    response = add_host(admin_client, sim_cluster, capture=django_capture_on_commit_callbacks)
    job = admin_client.get(response["Location"]).json()
    assert job["state"] == "failed"
    assert job["error"]["code"] == "HOST_AGENT_UNREACHABLE" and job["error"]["step"] == "ConnectAgent"
    assert not Host.objects.exists()
    status, hosts = sim_agent.admin("GET", "/sim/hosts")
    assert response.json()["resource"]["uuid"] not in str(hosts)


@pytest.mark.django_db
def test_bad_simulator_host_input_is_400_and_kvm_into_a_simulator_cluster_is_refused(admin_client, tenant_client, sim_cluster):
    body = {"name": "h", "cluster_uuid": str(sim_cluster.uuid), "hypervisor_type": "Simulator"}
    response = admin_client.post("/api/v1/hosts/", body, format="json")
    assert response.status_code == 400 and set(response.json()["details"]) == {"cpu_num", "memory_size"}
    assert tenant_client.post("/api/v1/hosts/", body, format="json").status_code == 403
    kvm = admin_client.post("/api/v1/hosts/", {**body, "hypervisor_type": "KVM", "management_ip": "10.0.0.9",
                                               "password": "p"}, format="json")
    assert kvm.status_code == 400 and "hypervisor_type" in kvm.json()["details"], kvm.json()


@pytest.mark.django_db
def test_ping_fault_turns_exactly_the_targeted_host_disconnected_and_back(admin_client, sim_agent, sim_cluster,
                                                                          django_capture_on_commit_callbacks):
    uuids = [add_host(admin_client, sim_cluster, name=f"h{i}", capture=django_capture_on_commit_callbacks)
             .json()["resource"]["uuid"] for i in range(3)]
    set_config("ping.interval", 1)
    set_config("ping.maxFailure", 2)
    Host.objects.update(last_ping_at=None)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": uuids[1], "path": "/v1/host/ping", "mode": "fail",
                                            "count": None})
    assert ping_due_hosts()["failed"] == 1
    assert Host.objects.get(uuid=uuids[1]).status == "Connected"  # one miss is not enough
    Host.objects.update(last_ping_at=None)
    result = ping_due_hosts()
    assert result["disconnected"] == 1
    assert {h.uuid.hex: h.status for h in Host.objects.all()} == {
        uuids[0].replace("-", ""): "Connected", uuids[1].replace("-", ""): "Disconnected",
        uuids[2].replace("-", ""): "Connected"}
    sim_agent.admin("DELETE", "/sim/faults")
    Host.objects.update(last_ping_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert ping_due_hosts()["reconnecting"] == 1
    assert set(Host.objects.values_list("status", flat=True)) == {"Connected"}


@pytest.mark.django_db
def test_maintain_and_enable_a_host(admin_client, sim_agent, sim_cluster, django_capture_on_commit_callbacks):
    uuid = add_host(admin_client, sim_cluster, capture=django_capture_on_commit_callbacks).json()["resource"]["uuid"]
    with django_capture_on_commit_callbacks(execute=True):   # a flow now: it empties the host first
        response = admin_client.post(f"/api/v1/hosts/{uuid}/maintain/")
    assert response.status_code == 202
    assert admin_client.get(response["Location"]).json()["state"] == "succeeded"
    assert admin_client.get(f"/api/v1/hosts/{uuid}/").json()["state"] == "Maintenance"
    assert admin_client.post(f"/api/v1/hosts/{uuid}/disable/").json()["state"] == "Disabled"
    assert admin_client.post(f"/api/v1/hosts/{uuid}/enable/").json()["state"] == "Enabled"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/v1/hosts/{uuid}/reconnect/")
    assert response.status_code == 202
    assert admin_client.get(response["Location"]).json()["state"] == "succeeded"


@pytest.mark.django_db
def test_a_restarted_simulator_gets_its_hosts_back(admin_client, sim_agent, sim_cluster,
                                                   django_capture_on_commit_callbacks):
    """The simulator keeps hosts in memory: after it restarted (here: the host deleted from it),
    runportal's revive task and a reconnect both register the host again with its recorded size."""
    from apps.infra.flows.hosts import revive_simulated_hosts

    capture = django_capture_on_commit_callbacks
    uuid = add_host(admin_client, sim_cluster, cpu_num=6, memory_size=12 * GIB,
                    capture=capture).json()["resource"]["uuid"]
    assert sim_agent.admin("DELETE", f"/sim/hosts/{uuid}")[0] == 200
    assert sim_agent.admin("GET", f"/sim/hosts/{uuid}")[0] == 404
    assert revive_simulated_hosts() == 1
    status, detail = sim_agent.admin("GET", f"/sim/hosts/{uuid}")
    assert status == 200 and (detail["cpu_num"], detail["memory_size"]) == (6, 12 * GIB), detail
    assert revive_simulated_hosts() == 0  # known again: nothing to do

    sim_agent.admin("DELETE", f"/sim/hosts/{uuid}")
    with capture(execute=True):
        response = admin_client.post(f"/api/v1/hosts/{uuid}/reconnect/")
    job = admin_client.get(response["Location"]).json()
    assert job["state"] == "succeeded", job
    assert sim_agent.admin("GET", f"/sim/hosts/{uuid}")[0] == 200
    assert Host.objects.get(uuid=uuid).status == "Connected"


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["CreateVenv", "ConnectAgent"])
def test_an_agent_upgrade_that_fails_undoes_the_part_that_failed_and_keeps_the_rest(
        sim_cluster, monkeypatch, failing):
    """UpgradeAgentIfStale runs the deploy steps itself: when one fails, the engine's rollback of the
    upgrade undoes that one (as the deploy flow's would), not the parts that finished; a failure
    once the agent runs (connecting to it) undoes nothing of the upgrade."""
    import hostagent
    from apps.core.errors import CloudPortalError
    from apps.core.flows import FLOWS, Flow, execute_job, start_job
    from apps.infra.flows import deploy

    journal = []

    def part(cls):
        def run(self, ctx):
            journal.append(("run", cls.step_name()))
            if cls.step_name() == failing:
                raise CloudPortalError(f"{failing} failed", code="AGENT_INSTALL_FAILED", status=409)
        monkeypatch.setattr(cls, "run", run)
        if cls.rollback is not None:
            monkeypatch.setattr(cls, "rollback", lambda self, ctx: journal.append(("rollback", cls.step_name())))

    for cls in (*deploy.UpgradeAgentIfStale.PARTS, deploy.ConnectAgent):
        part(cls)
    host = Host.objects.create(name="kvm", cluster=Cluster.objects.create(name="k", zone=sim_cluster.zone),
                               hypervisor_type="KVM", management_ip="10.0.0.9", agent_version="0.0.1-old")
    assert host.agent_version != hostagent.__version__
    flow = FLOWS.get("test-upgrade") or Flow("test-upgrade", [deploy.UpgradeAgentIfStale])
    job = execute_job(start_job(flow, args={"host_uuid": str(host.uuid)}).uuid)
    assert job.state == "failed" and job.steps[0]["rollback"] == "done"
    undone = [name for kind, name in journal if kind == "rollback"]
    assert undone == (["CreateVenv"] if failing == "CreateVenv" else [])
    assert ("run", "CopyAgent") in journal

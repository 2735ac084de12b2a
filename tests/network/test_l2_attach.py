"""Attaching L2 networks to clusters: bridges on the hosts (simulator agent and the real libvirt agent),
rollback when a host fails, bridges (re)made when a host connects, detach."""
import pytest

from apps.infra.models import Host
from apps.network.models import L2Network

from .conftest import add_sim_host, agent_state, create_l2, ip_link, run

pytestmark = pytest.mark.django_db


def attach(client, capture, l2, cluster, verb="attach"):
    return run(client, capture, "post", f"/api/v1/l2-networks/{l2['uuid']}/{verb}/",
               {"cluster_uuid": str(cluster.uuid)})


def test_attach_creates_the_bridge_on_every_connected_host(admin_client, sim_agent, zone, sim_cluster,
                                                           django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    for name in ("h1", "h2"):
        add_sim_host(admin_client, sim_cluster, capture, name)
    l2 = create_l2(admin_client, zone, interface="eth1")
    response, job = attach(admin_client, capture, l2, sim_cluster)
    assert job["state"] == "succeeded", job
    assert [s["name"] for s in job["steps"]] == ["CheckAttachable", "RealizeBridges", "RecordAttachment"]
    assert len(job["result"]["bridges_created_on"]) == 2
    for host in Host.objects.all():
        assert agent_state(host)["bridges"] == {"br_eth1": "eth1"}
    assert admin_client.get(f"/api/v1/l2-networks/{l2['uuid']}/").json()["cluster_uuids"] == [str(sim_cluster.uuid)]
    # twice is refused; another L2 on the same interface too
    _, again = attach(admin_client, capture, l2, sim_cluster)
    assert again["state"] == "failed" and again["error"]["code"] == "L2_NETWORK_ALREADY_ATTACHED"
    twin = create_l2(admin_client, zone, interface="eth1", name="twin")
    _, clash = attach(admin_client, capture, twin, sim_cluster)
    assert clash["error"]["code"] == "DUPLICATE_PHYSICAL_INTERFACE"


def test_a_failing_host_fails_the_attach_names_it_and_rolls_back(admin_client, sim_agent, zone, sim_cluster,
                                                                 django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture, "good")
    add_sim_host(admin_client, sim_cluster, capture, "bad")
    good, bad = Host.objects.get(name="good"), Host.objects.get(name="bad")
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": str(bad.uuid), "path": "/v1/network/bridge/ensure",
                                            "mode": "fail", "count": None})
    l2 = create_l2(admin_client, zone, interface="eth1")
    _, job = attach(admin_client, capture, l2, sim_cluster)
    assert job["state"] == "failed", job
    assert job["error"]["step"] == "RealizeBridges" and job["error"]["code"] == "HOST_AGENT_UNREACHABLE"
    assert "bad" in job["error"]["message"] and job["error"]["details"]["host_uuid"] == str(bad.uuid)
    assert agent_state(good)["bridges"] == {}  # the bridge made on the good host was deleted again
    assert not L2Network.objects.get(uuid=l2["uuid"]).clusters.exists()
    assert L2Network.objects.get(uuid=l2["uuid"]).busy_job is None


def test_connecting_hosts_get_the_bridges_of_their_cluster(admin_client, sim_agent, zone, sim_cluster,
                                                           django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    l2 = create_l2(admin_client, zone, interface="eth1")
    _, job = attach(admin_client, capture, l2, sim_cluster)  # no hosts yet
    assert job["state"] == "succeeded" and job["result"]["bridges_created_on"] == []
    _, job = add_sim_host(admin_client, sim_cluster, capture, "late")
    assert job["state"] == "succeeded", job
    assert "RunConnectHooks" in [s["name"] for s in job["steps"]]
    host = Host.objects.get(name="late")
    assert agent_state(host)["bridges"] == {"br_eth1": "eth1"}
    # gone behind the portal's back: a reconnect makes it again
    from apps.infra import agent

    agent.call(host, "/v1/network/bridge/delete", {"bridge": "br_eth1"})
    _, job = run(admin_client, capture, "post", f"/api/v1/hosts/{host.uuid}/reconnect/")
    assert job["state"] == "succeeded", job
    assert agent_state(host)["bridges"] == {"br_eth1": "eth1"}
    # a host that cannot make the bridge does not connect
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": None, "path": "/v1/network/bridge/ensure",
                                            "mode": "fail", "count": None})
    _, job = add_sim_host(admin_client, sim_cluster, capture, "refused")
    assert job["state"] == "failed" and job["error"]["step"] == "RunConnectHooks"
    assert "L2 network l2" in job["error"]["message"]
    assert not Host.objects.filter(name="refused").exists()


def test_detach_deletes_the_bridges(admin_client, sim_agent, zone, sim_cluster, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture, "h1")
    l2 = create_l2(admin_client, zone, interface="eth1")
    attach(admin_client, capture, l2, sim_cluster)
    _, job = attach(admin_client, capture, l2, sim_cluster, verb="detach")
    assert job["state"] == "succeeded", job
    assert agent_state(Host.objects.get())["bridges"] == {}
    assert admin_client.get(f"/api/v1/l2-networks/{l2['uuid']}/").json()["cluster_uuids"] == []
    _, job = attach(admin_client, capture, l2, sim_cluster, verb="detach")
    assert job["error"]["code"] == "L2_NETWORK_NOT_ATTACHED"
    response = admin_client.post(f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": "nope"}, format="json")
    assert response.status_code == 400 and "cluster_uuid" in response.json()["details"]


def test_a_detach_failing_on_a_host_makes_the_bridges_it_deleted_again(admin_client, sim_agent, zone, sim_cluster,
                                                                       django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture, "good")
    add_sim_host(admin_client, sim_cluster, capture, "bad")
    good, bad = Host.objects.get(name="good"), Host.objects.get(name="bad")
    l2 = create_l2(admin_client, zone, interface="eth1")
    attach(admin_client, capture, l2, sim_cluster)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": str(bad.uuid), "path": "/v1/network/bridge/delete",
                                            "mode": "fail", "count": None})
    _, job = attach(admin_client, capture, l2, sim_cluster, verb="detach")
    assert job["state"] == "failed" and job["error"]["step"] == "DeleteBridges", job
    assert job["steps"][-1]["rollback"] == "done"   # the failed step's own rollback
    assert l2["bridge_name"] in agent_state(good)["bridges"]  # deleted on the good host, then made again
    assert admin_client.get(f"/api/v1/l2-networks/{l2['uuid']}/").json()["cluster_uuids"] == [str(sim_cluster.uuid)]


def test_deleting_an_attached_l2_removes_its_bridges(admin_client, sim_agent, zone, sim_cluster,
                                                     django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture, "h1")
    l2 = create_l2(admin_client, zone, interface="eth1")
    attach(admin_client, capture, l2, sim_cluster)
    _, job = run(admin_client, capture, "delete", f"/api/v1/l2-networks/{l2['uuid']}/")
    assert job["state"] == "succeeded", job
    assert agent_state(Host.objects.get())["bridges"] == {}


@pytest.mark.libvirt
def test_attach_on_the_real_agent_makes_a_linux_bridge_with_the_interface(
        admin_client, kvm_host, test_interface, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    l2 = create_l2(admin_client, kvm_host.cluster.zone, interface=test_interface)
    bridge = f"br_{test_interface}"
    _, job = attach(admin_client, capture, l2, kvm_host.cluster)
    assert job["state"] == "succeeded", job
    assert job["result"]["bridges_created_on"] == [str(kvm_host.uuid)]
    link = ip_link(bridge)
    assert link is not None and link["linkinfo"]["info_kind"] == "bridge"
    assert ip_link(test_interface)["master"] == bridge
    assert agent_state(kvm_host)["bridges"][bridge]["ports"] == [test_interface]
    _, job = attach(admin_client, capture, l2, kvm_host.cluster, verb="detach")
    assert job["state"] == "succeeded", job
    assert ip_link(bridge) is None and "master" not in ip_link(test_interface)


@pytest.mark.libvirt
def test_real_agent_moves_the_interface_address_to_the_bridge_and_back(kvm_host, test_interface, test_subnet):
    import subprocess

    from apps.infra import agent

    subprocess.run(["ip", "addr", "add", f"{test_subnet}.5/24", "dev", test_interface], check=True)
    bridge = f"br_{test_interface}"
    answer = agent.call(kvm_host, "/v1/network/bridge/ensure", {"bridge": bridge, "physical_interface": test_interface})
    assert answer["created"] is True and answer["moved_addresses"] == [f"{test_subnet}.5/24"]
    assert agent_state(kvm_host)["bridges"][bridge]["addresses"] == [f"{test_subnet}.5/24"]
    again = agent.call(kvm_host, "/v1/network/bridge/ensure", {"bridge": bridge, "physical_interface": test_interface})
    assert again["created"] is False
    agent.call(kvm_host, "/v1/network/bridge/delete", {"bridge": bridge, "physical_interface": test_interface})
    addrs = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", test_interface], capture_output=True,
                           text=True).stdout
    assert f"{test_subnet}.5/24" in addrs and ip_link(bridge) is None
    from apps.core.errors import CloudPortalError

    with pytest.raises(CloudPortalError) as exc:
        agent.call(kvm_host, "/v1/network/bridge/ensure", {"bridge": "br_cpnothere", "physical_interface": "cpnothere"})
    assert exc.value.code == "INTERFACE_NOT_FOUND" and "kvm-1" in exc.value.message

"""A host that leaves the portal loses its DHCP servers and the bridges its agent made (simulator
and the real libvirt agent); what an unreachable host keeps is named in the job. The deployed-agent
end to end (a cluster delete over SSH) is in tests/compute/test_kvm_hosts.py."""
import subprocess

import pytest

from apps.infra.models import Host
from apps.network.dhcp import apply_dhcp
from apps.network.flows.host_hook import remove_host_networking
from hostagent.client import AgentClient

from .conftest import add_sim_host, agent_state, create_l2, create_l3, ip_link, run

pytestmark = pytest.mark.django_db
def _running(pid):
    """Whether ``pid`` still runs (an exited process its parent has not reaped yet does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


RANGE = [("10.30.0.10", "10.30.0.20", "255.255.255.0", "10.30.0.1")]


def _with_dhcp(client, capture, zone, cluster, interface="eth1"):
    """An L2 attached to ``cluster`` (its bridge on the hosts) and an L3 whose DHCP server runs on
    the first host without entries (what the last VM on it leaves)."""
    l2 = create_l2(client, zone, interface=interface)
    _, job = run(client, capture, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/",
                 {"cluster_uuid": str(cluster.uuid)})
    assert job["state"] == "succeeded", job
    l3 = create_l3(client, l2["uuid"], ranges=RANGE)
    apply_dhcp(Host.objects.filter(cluster=cluster).first(), l3["uuid"], [])
    return l2, l3


def test_deleting_a_simulated_host_removes_its_dhcp_server_and_bridge(admin_client, sim_agent, zone, sim_cluster,
                                                                     django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture)
    host = Host.objects.get()
    l2, l3 = _with_dhcp(admin_client, capture, zone, sim_cluster)
    assert set(agent_state(host)["dhcp"]) == {l3["uuid"]}
    _, job = run(admin_client, capture, "delete", f"/api/v1/hosts/{host.uuid}/")
    assert job["state"] == "succeeded", job
    assert job["result"]["cleanup"][str(host.uuid)]["network"] == {
        "removed": True, "dhcp_deleted": [l3["uuid"]], "bridges_deleted": ["br_eth1"]}
    # the simulator still serves the host (it is not told to forget it): its network is empty
    state = AgentClient(sim_agent.url, str(host.uuid), host.agent_secret).call("/v1/network/state")
    assert state == {"bridges": {}, "dhcp": {}}


def test_deleting_a_disconnected_host_says_which_bridges_and_dhcp_servers_stay(
        admin_client, sim_agent, zone, sim_cluster, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture)
    host = Host.objects.get()
    l2, l3 = _with_dhcp(admin_client, capture, zone, sim_cluster)
    Host.objects.filter(pk=host.pk).update(status="Disconnected")
    _, job = run(admin_client, capture, "delete", f"/api/v1/clusters/{sim_cluster.uuid}/")
    assert job["state"] == "succeeded", job
    network = job["result"]["cleanup"][str(host.uuid)]["network"]
    assert network["removed"] is False and network["code"] == "HOST_DISCONNECTED"
    assert "Disconnected" in network["message"] and "dnsmasq" in network["message"]
    assert network["left"] == {"bridges": ["br_eth1"], "dhcp_namespaces": [f"cpdhcp-{l3['uuid']}"]}
    assert not Host.objects.exists()


def test_an_unreachable_agent_does_not_stop_the_delete(admin_client, sim_agent, zone, sim_cluster,
                                                      django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture)
    host = Host.objects.get()
    _with_dhcp(admin_client, capture, zone, sim_cluster)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": str(host.uuid), "path": "/v1/network/cleanup",
                                            "mode": "fail", "count": None})
    _, job = run(admin_client, capture, "delete", f"/api/v1/hosts/{host.uuid}/")
    assert job["state"] == "succeeded", job
    network = job["result"]["cleanup"][str(host.uuid)]["network"]
    assert network["removed"] is False and network["code"] == "HOST_AGENT_UNREACHABLE"


@pytest.mark.libvirt
def test_the_real_agent_stops_dnsmasq_removes_namespace_and_its_bridge_and_keeps_one_it_found(
        admin_client, kvm_host, libvirt_agent, test_interface, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    # a bridge that was on the host before the portal (an operator's), on a second interface
    found_iface = f"{test_interface}f"
    found_bridge = f"br_{found_iface}"
    subprocess.run(["ip", "link", "add", found_iface, "type", "veth", "peer", "name", found_iface + "p"], check=True)
    subprocess.run(["ip", "link", "add", found_bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", found_iface, "master", found_bridge], check=True)
    try:
        l2, l3 = _with_dhcp(admin_client, capture, kvm_host.cluster.zone, kvm_host.cluster, test_interface)
        found = create_l2(admin_client, kvm_host.cluster.zone, interface=found_iface, name="found")
        _, job = run(admin_client, capture, "post", f"/api/v1/l2-networks/{found['uuid']}/attach/",
                     {"cluster_uuid": str(kvm_host.cluster.uuid)})
        assert job["state"] == "succeeded", job
        dhcp = agent_state(kvm_host)["dhcp"][l3["uuid"]]
        namespace = dhcp["namespace"]
        assert dhcp["running"] and namespace in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                              text=True).stdout

        outcome = remove_host_networking(kvm_host)["network"]
        assert outcome == {"removed": True, "dhcp_deleted": [l3["uuid"]], "bridges_deleted": [l2["bridge_name"]],
                           "kept": [{"bridge": found_bridge,
                                     "reason": "it was on the host before the portal asked for it"}]}
        assert not _running(dhcp["pid"])
        assert namespace not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert ip_link(l2["bridge_name"]) is None and "master" not in ip_link(test_interface)
        assert ip_link(found_iface)["master"] == found_bridge
        assert not (libvirt_agent.state_dir / "dhcp").exists() and not (libvirt_agent.state_dir / "bridges.json").exists()
    finally:
        subprocess.run(["ip", "link", "del", found_bridge], capture_output=True)
        subprocess.run(["ip", "link", "del", found_iface], capture_output=True)

"""Fixtures for networking: the simulator agent, zones/clusters/hosts, L2/L3 helpers, and a real
libvirt agent with test interfaces (veth pairs with unique names, removed at teardown)."""
import json
import os
import random
import subprocess
import uuid

import pytest

from apps.infra.models import Cluster, Host, Zone
from tests.hostagent.conftest import start_libvirt_agent

GIB = 1024 ** 3


@pytest.fixture
def zone(db):
    return Zone.objects.create(name="z1")


@pytest.fixture
def sim_cluster(zone):
    return Cluster.objects.create(name="sim", zone=zone, hypervisor_type="Simulator")


def add_sim_host(client, cluster, capture, name="h1"):
    body = {"name": name, "cluster_uuid": str(cluster.uuid), "hypervisor_type": "Simulator",
            "cpu_num": 8, "memory_size": 16 * GIB}
    with capture(execute=True):
        response = client.post("/api/v1/hosts/", body, format="json")
    assert response.status_code == 202, response.content
    return response, client.get(response["Location"]).json()


def run(client, capture, method, url, body=None):
    """Call an endpoint that starts a job, run the job inline; (response, job)."""
    with capture(execute=True):
        response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 202, response.content
    return response, client.get(response["Location"]).json()


def create_l2(client, zone, interface="eth0", name="l2"):
    response = client.post("/api/v1/l2-networks/", {"name": name, "type": "NoVlan", "physical_interface": interface,
                                                    "zone_uuid": str(zone.uuid)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create_l3(client, l2_uuid, name="l3", dhcp=True, dns=("8.8.8.8",), ranges=()):
    response = client.post("/api/v1/l3-networks/", {"name": name, "l2_network_uuid": l2_uuid, "dhcp": dhcp,
                                                    "dns": list(dns)}, format="json")
    assert response.status_code == 201, response.content
    l3 = response.json()
    for start, end, netmask, gateway in ranges:
        added = client.post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
            "start_ip": start, "end_ip": end, "netmask": netmask, "gateway": gateway}, format="json")
        assert added.status_code == 201, added.content
    return l3


def agent_state(host):
    from apps.infra import agent

    return agent.call(host, "/v1/network/state")


# --- the real agent ------------------------------------------------------------------------------





def ip_link(name, netns=None):
    cmd = ["ip", *(["-n", netns] if netns else []), "-j", "-d", "link", "show", "dev", name]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 and proc.stdout.strip() else None


@pytest.fixture(scope="module")
def libvirt_agent(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("bridges and network namespaces need root")
    base = tmp_path_factory.mktemp("netagent")
    agent = start_libvirt_agent(base, "--state-dir", str(base / "state"))
    agent.state_dir = base / "state"
    yield agent
    agent.stop()


@pytest.fixture
def test_interface():
    """A veth pair standing in for a host's physical NIC (the peer end stays up outside any bridge)."""
    name = f"cpt{uuid.uuid4().hex[:6]}"
    peer = name + "p"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    subprocess.run(["ip", "link", "set", peer, "up"], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    yield name
    subprocess.run(["ip", "link", "del", "dev", f"br_{name}"], capture_output=True)
    subprocess.run(["ip", "link", "del", "dev", name], capture_output=True)


@pytest.fixture
def test_subnet():
    """(network prefix "10.251.N", netmask) of a /24 nobody else on this machine uses."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    while True:
        prefix = f"10.251.{random.randint(0, 255)}"
        if prefix + "." not in used:
            return prefix


@pytest.fixture
def kvm_host(db, libvirt_agent, zone):
    """A Connected KVM host row pointing at the real libvirt agent (what ADD_KVM_HOST leaves behind)."""
    cluster = Cluster.objects.create(name="kvm", zone=zone, hypervisor_type="KVM")
    return Host.objects.create(
        uuid=libvirt_agent.host_uuid, name="kvm-1", cluster=cluster, hypervisor_type="KVM", management_ip="127.0.0.1",
        agent_port=libvirt_agent.port, agent_secret=libvirt_agent.secret, status="Connected",
        address_key=f"127.0.0.1:{libvirt_agent.port}", cpu_num=2, memory_size=2 * GIB)

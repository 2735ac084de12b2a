"""A real Prometheus finds the agents through the portal's service discovery and scrapes them:
simulated hosts (a host added later is scraped without touching Prometheus's config, a pinned load
shows) and the real libvirt agent sampling a running QEMU domain."""
import http.client
import uuid

import pytest

from apps.infra.models import Cluster, Host, HostStatus, Zone
from hostagent.client import AgentClient
from hostagent.signing import metrics_token
from tests.hostagent.conftest import remove_domain


def connected_host(cluster, **fields):
    return Host.objects.create(name=f"h-{uuid.uuid4().hex[:6]}", cluster=cluster,
                               hypervisor_type=cluster.hypervisor_type, status=HostStatus.CONNECTED,
                               cpu_num=4, memory_size=8 << 30, **fields)


def simulated_host_with_vm(sim_agent, cluster, load):
    host = connected_host(cluster, management_ip="127.0.0.1", agent_secret=uuid.uuid4().hex)
    assert sim_agent.admin("POST", "/sim/hosts", {"host_uuid": str(host.uuid), "secret": host.agent_secret,
                                                  "cpu_num": 4, "memory_size": 8 << 30})[0] == 200
    vm_uuid = str(uuid.uuid4())
    AgentClient(sim_agent.url, str(host.uuid), host.agent_secret).call("/v1/host/connect", {
        "portal_url": None, "sample_interval": 1})
    AgentClient(sim_agent.url, str(host.uuid), host.agent_secret).call("/v1/vm/define", {
        "vm_uuid": vm_uuid, "name": "v", "cpu_num": 1, "memory_size": 1 << 30, "start": True})
    assert sim_agent.admin("POST", "/sim/load", {"vm_uuid": vm_uuid, "cpu_percent": load})[0] == 200
    return host, vm_uuid


def test_prometheus_scrapes_every_connected_host_the_portal_lists(prometheus, sim_agent):
    cluster = Cluster.objects.create(name="sim", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    first, first_vm = simulated_host_with_vm(sim_agent, cluster, 80)
    [point] = prometheus.wait_for(f'cloudportal_vm_cpu_percent{{vm_uuid="{first_vm}"}} == 80')
    labels = point["metric"]
    assert labels["host_uuid"] == str(first.uuid) and labels["cluster_uuid"] == str(cluster.uuid)
    assert labels["zone_uuid"] == str(cluster.zone.uuid) and labels["job"] == "cloudportal-agents"
    assert "exported_host_uuid" not in labels
    # a host added now is scraped from its next discovery on, with nothing changed in Prometheus
    second, second_vm = simulated_host_with_vm(sim_agent, cluster, 15)
    prometheus.wait_for(f'cloudportal_vm_cpu_percent{{vm_uuid="{second_vm}", host_uuid="{second.uuid}"}} == 15')
    # the load moves: Prometheus sees it go down
    sim_agent.admin("POST", "/sim/load", {"vm_uuid": first_vm, "cpu_percent": 5})
    prometheus.wait_for(f'cloudportal_vm_cpu_percent{{vm_uuid="{first_vm}"}} == 5')
    prometheus.wait_for(f'rate(cloudportal_vm_disk_read_bytes_total{{vm_uuid="{first_vm}"}}[5s]) > 0')
    # a host that is no longer Connected leaves the targets
    Host.objects.filter(pk=first.pk).update(status=HostStatus.DISCONNECTED)
    prometheus.wait_until(lambda: str(first.uuid) not in {
        t["labels"].get("host_uuid") for t in prometheus.api("targets")["activeTargets"]})
    for host in (first, second):
        sim_agent.admin("DELETE", f"/sim/hosts/{host.uuid}")


@pytest.mark.libvirt
def test_a_running_qemu_domains_cpu_reaches_prometheus(sampling_libvirt_agent, prometheus):
    agent = sampling_libvirt_agent
    vm_uuid = str(uuid.uuid4())
    try:
        agent.client.call("/v1/vm/define", {"vm_uuid": vm_uuid, "name": "metrics-test", "cpu_num": 1,
                                            "memory_size": 64 << 20, "vnc": False, "start": True})
        cluster = Cluster.objects.create(name="kvm", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
        host = connected_host(cluster, uuid=agent.host_uuid, management_ip="127.0.0.1", agent_port=agent.port,
                              agent_secret=agent.secret, address_key=f"127.0.0.1:{agent.port}")
        [point] = prometheus.wait_for(f'cloudportal_vm_cpu_percent{{vm_uuid="{vm_uuid}"}}', timeout=90)
        assert point["metric"]["host_uuid"] == str(host.uuid) and point["metric"]["cluster_uuid"] == str(cluster.uuid)
        assert 0 <= float(point["value"][1]) <= 100
        # the host's own figures come along, from /proc
        [total] = prometheus.wait_for(f'cloudportal_host_memory_total_bytes{{host_uuid="{host.uuid}"}}')
        with open("/proc/meminfo") as fh:
            assert float(total["value"][1]) == int(fh.readline().split()[1]) * 1024
        prometheus.wait_for(f'cloudportal_host_cpu_percent{{host_uuid="{host.uuid}"}} >= 0')
        # a series per sample: it keeps coming in
        prometheus.wait_for(f'count_over_time(cloudportal_vm_cpu_percent{{vm_uuid="{vm_uuid}"}}[1m]) >= 3',
                            timeout=60)
    finally:
        remove_domain(vm_uuid)


@pytest.mark.libvirt
def test_the_libvirt_agent_samples_its_domains_in_one_bulk_call(sampling_libvirt_agent):
    agent = sampling_libvirt_agent
    vm_uuid = str(uuid.uuid4())
    token = metrics_token(agent.secret, agent.host_uuid)

    def scrape():
        conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)
        conn.request("GET", f"/metrics/{agent.host_uuid}", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, response.read().decode()

    try:
        agent.client.call("/v1/vm/define", {"vm_uuid": vm_uuid, "name": "metrics-test", "cpu_num": 1,
                                            "memory_size": 64 << 20, "vnc": False, "start": True})
        from tests.hostagent.test_metrics import value_of, wait_until

        labels = {"vm_uuid": vm_uuid, "host_uuid": agent.host_uuid}
        text = wait_until(lambda: (lambda s: s[1] if value_of(s[1], "cloudportal_vm_cpu_percent", **labels)
                                   is not None else None)(scrape()), timeout=30)
        assert text, "the running domain's CPU never showed"
        assert 0 <= value_of(text, "cloudportal_vm_cpu_percent", **labels) <= 100
        assert value_of(text, "cloudportal_host_load1", host_uuid=agent.host_uuid) >= 0
        assert value_of(text, "cloudportal_agent_sample_duration_seconds") < 5
        # no balloon statistics without a guest driver: left out, not made up
        assert "cloudportal_vm_memory_used_bytes" not in text
        conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)
        conn.request("GET", f"/metrics/{agent.host_uuid}?token=wrong")
        assert conn.getresponse().status == 401
        agent.client.call("/v1/vm/destroy", {"vm_uuid": vm_uuid})
        assert wait_until(lambda: vm_uuid not in scrape()[1], timeout=15)   # a stopped domain has no figures
    finally:
        remove_domain(vm_uuid)

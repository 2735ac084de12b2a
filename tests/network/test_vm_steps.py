"""The VM create flow's network steps (AllocateNicIps, ApplyDhcp) run by the real flow engine against
the simulator agent, and for real: dnsmasq in a namespace on the real agent answering a QEMU guest's
iPXE with exactly the allocated address."""
import subprocess
import time
import uuid

import pytest

from apps.core import rowcache
from apps.core.errors import CloudPortalError
from apps.core.flows import Flow, NoRollback, RemoteStep, start_job
from apps.core.models import Job
from apps.infra.models import Host
from apps.network.flows.vm_steps import (AllocateNicIps, ApplyDhcp, nics_of, release_dhcp_entries,
                                         release_nic_ips)
from apps.network.models import L2Network, UsedIp

from .conftest import add_sim_host, agent_state, create_l2, create_l3, ip_link, run
from .test_host_cleanup import _running

pytestmark = pytest.mark.django_db


class FailAfterNetwork(RemoteStep, NoRollback):
    def run(self, ctx):
        raise CloudPortalError("the hypervisor said no", code="TEST_FAILURE")


VM_NETWORK = Flow("test-vm-network", [AllocateNicIps, ApplyDhcp])
VM_NETWORK_FAILING = Flow("test-vm-network-failing", [AllocateNicIps, ApplyDhcp, FailAfterNetwork])


def run_flow(flow, capture, **args):
    with capture(execute=True):
        job = start_job(flow, args=args)
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def sim_network(admin_client, sim_agent, zone, sim_cluster, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture, "h1")
    l2 = create_l2(admin_client, zone, interface="eth1")
    run(admin_client, capture, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": str(sim_cluster.uuid)})
    l3 = create_l3(admin_client, l2["uuid"], dns=["8.8.8.8", "1.1.1.1"],
                   ranges=[("10.0.0.10", "10.0.0.20", "255.255.255.0", "10.0.0.1")])
    return Host.objects.get(name="h1"), l3


def test_allocate_and_apply_dhcp_on_the_sim_host(sim_network, django_capture_on_commit_callbacks):
    host, l3 = sim_network
    vm = str(uuid.uuid4())
    job = run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=vm, l3_network_uuids=[l3["uuid"]],
                   static_ips={l3["uuid"]: "10.0.0.15"}, host_uuid=str(host.uuid), hostname="web-1")
    assert job.state == "succeeded", job.error
    nic = job.context["nics"][0]
    assert nic["ip"] == "10.0.0.15" and nic["bridge"] == "br_eth1" and nic["gateway"] == "10.0.0.1"
    dhcp = agent_state(host)["dhcp"][l3["uuid"]]
    assert dhcp["server_ip"] == "10.0.0.10" and dhcp["gateway"] == "10.0.0.1" and dhcp["bridge"] == "br_eth1"
    assert dhcp["dns"] == ["8.8.8.8", "1.1.1.1"] and dhcp["lease_time"] == 86400
    assert dhcp["entries"] == [{"mac": nic["mac"], "ip": "10.0.0.15", "hostname": "web-1"}]
    assert nics_of(vm) == job.context["nics"]
    # expunge: entries and addresses go back
    release_dhcp_entries(host, nics_of(vm))
    assert release_nic_ips(vm_uuid=vm) == 1
    assert agent_state(host)["dhcp"][l3["uuid"]]["entries"] == []
    assert not UsedIp.objects.filter(owner_uuid=vm).exists()


def test_a_later_failure_rolls_back_dhcp_entries_and_addresses(sim_network, django_capture_on_commit_callbacks):
    host, l3 = sim_network
    vm = str(uuid.uuid4())
    job = run_flow(VM_NETWORK_FAILING, django_capture_on_commit_callbacks, vm_uuid=vm,
                   l3_network_uuids=[l3["uuid"]], host_uuid=str(host.uuid))
    assert job.state == "failed" and job.error["code"] == "TEST_FAILURE"
    assert [s["state"] for s in job.steps] == ["rolled_back", "rolled_back", "failed"]
    assert agent_state(host)["dhcp"][l3["uuid"]]["entries"] == []
    assert not UsedIp.objects.filter(owner_uuid=vm).exists()


def test_apply_dhcp_failing_on_the_host_releases_the_addresses(sim_network, sim_agent,
                                                               django_capture_on_commit_callbacks):
    host, l3 = sim_network
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": str(host.uuid), "path": "/v1/dhcp/apply", "mode": "fail",
                                            "count": None})
    vm = str(uuid.uuid4())
    job = run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=vm, l3_network_uuids=[l3["uuid"]],
                   host_uuid=str(host.uuid))
    assert job.state == "failed" and job.error["step"] == "ApplyDhcp"
    assert job.error["code"] == "HOST_AGENT_UNREACHABLE" and "h1" in job.error["message"]
    assert not UsedIp.objects.filter(owner_uuid=vm).exists()


def test_apply_dhcp_failing_on_a_second_l3_removes_the_entries_it_added_on_the_first(
        sim_network, admin_client, monkeypatch, django_capture_on_commit_callbacks):
    from apps.network import dhcp

    host, l3 = sim_network
    second = create_l3(admin_client, l3["l2_network_uuid"], name="second", ranges=[("10.1.0.10", "10.1.0.20", "255.255.255.0",
                                                                     "10.1.0.1")])
    apply = dhcp.apply_dhcp

    def second_fails(host, l3_network, entries, **kwargs):
        if str(l3_network.uuid) == second["uuid"]:
            raise CloudPortalError("dnsmasq would not start", code="DHCP_FAILED", status=409)
        return apply(host, l3_network, entries, **kwargs)

    monkeypatch.setattr(dhcp, "apply_dhcp", second_fails)
    vm = str(uuid.uuid4())
    job = run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=vm, host_uuid=str(host.uuid),
                   l3_network_uuids=[l3["uuid"], second["uuid"]])
    assert job.state == "failed" and job.error["step"] == "ApplyDhcp" and job.error["code"] == "DHCP_FAILED"
    assert job.steps[1]["state"] == "failed" and job.steps[1]["rollback"] == "done"
    assert agent_state(host)["dhcp"][l3["uuid"]]["entries"] == []   # applied on the first L3, then removed
    assert not UsedIp.objects.filter(owner_uuid=vm).exists()


def test_no_ip_left_fails_allocate_with_422_code(sim_network, django_capture_on_commit_callbacks):
    host, l3 = sim_network
    job = run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=str(uuid.uuid4()),
                   l3_network_uuids=[l3["uuid"]], static_ips={l3["uuid"]: "10.0.0.1"}, host_uuid=str(host.uuid))
    assert job.error["code"] == "IP_RESERVED"
    for _ in range(10):  # 11 addresses, one for the DHCP server
        assert run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=str(uuid.uuid4()),
                        l3_network_uuids=[l3["uuid"]], host_uuid=str(host.uuid)).state == "succeeded"
    job = run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=str(uuid.uuid4()),
                   l3_network_uuids=[l3["uuid"]], host_uuid=str(host.uuid))
    assert job.error["code"] == "NO_AVAILABLE_IP" and job.error["step"] == "AllocateNicIps"
    assert len(agent_state(host)["dhcp"][l3["uuid"]]["entries"]) == 10


def test_apply_dhcp_refuses_a_host_whose_cluster_does_not_reach_the_l3(admin_client, sim_agent, zone, sim_cluster,
                                                                        django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    add_sim_host(admin_client, sim_cluster, capture, "h1")
    l2 = create_l2(admin_client, zone, interface="eth1")
    l3 = create_l3(admin_client, l2["uuid"], ranges=[("10.0.0.10", "10.0.0.20", "255.255.255.0", "10.0.0.1")])
    job = run_flow(VM_NETWORK, capture, vm_uuid=str(uuid.uuid4()), l3_network_uuids=[l3["uuid"]],
                   host_uuid=str(Host.objects.get().uuid))
    assert job.error["code"] == "L2_NETWORK_NOT_ATTACHED"
    assert not UsedIp.objects.filter(owner_type="VmNic").exists()


# --- for real: dnsmasq in a namespace, a QEMU guest's iPXE asks for an address ----------------------

DOMAIN_XML = """<domain type='qemu'>
  <name>cp-nettest-{vm}</name><uuid>{vm}</uuid>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='network'/></os>
  <devices>
    <interface type='bridge'><source bridge='{bridge}'/><mac address='{mac}'/><model type='{model}'/></interface>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>"""


def wait_for_lease(lease_file, mac, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for line in open(lease_file, encoding="utf-8"):
                parts = line.split()
                if len(parts) >= 3 and parts[1].lower() == mac:
                    return parts[2]
        except OSError:
            pass
        time.sleep(0.5)
    return None


@pytest.mark.libvirt
def test_a_qemu_guest_gets_exactly_the_allocated_ip_from_the_hosts_dnsmasq(
        admin_client, kvm_host, libvirt_agent, test_interface, test_subnet, django_capture_on_commit_callbacks):
    import libvirt

    capture = django_capture_on_commit_callbacks
    l2 = create_l2(admin_client, kvm_host.cluster.zone, interface=test_interface)
    L2Network.objects.get(uuid=l2["uuid"]).clusters.add(kvm_host.cluster)
    l3 = create_l3(admin_client, l2["uuid"], dns=["10.0.0.53"],
                   ranges=[(f"{test_subnet}.10", f"{test_subnet}.200", "255.255.255.0", f"{test_subnet}.1")])
    vm = str(uuid.uuid4())
    job = run_flow(VM_NETWORK, capture, vm_uuid=vm, l3_network_uuids=[l3["uuid"]], host_uuid=str(kvm_host.uuid))
    assert job.state == "succeeded", job.error
    nic = job.context["nics"][0]
    bridge = f"br_{test_interface}"
    namespace = f"cpdhcp-{l3['uuid']}"
    dhcp = agent_state(kvm_host)["dhcp"][l3["uuid"]]
    try:
        assert dhcp["running"] and dhcp["server_ip"] == f"{test_subnet}.10"
        pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
        assert str(dhcp["pid"]) in pids  # dnsmasq runs inside the L3's namespace
        directory = libvirt_agent.state_dir / "dhcp" / l3["uuid"]
        assert f"{nic['mac']},{nic['ip']}" in (directory / "hosts").read_text()
        assert ip_link(f"cpdo{l3['uuid'].replace('-', '')[:10]}")["master"] == bridge

        conn = libvirt.open("qemu:///system")
        model = "virtio"
        dom = conn.defineXML(DOMAIN_XML.format(vm=vm, bridge=bridge, mac=nic["mac"], model=model))
        try:
            dom.create()
            leased = wait_for_lease(directory / "leases", nic["mac"])
        finally:
            try:
                dom.destroy()
            except libvirt.libvirtError:
                pass
            dom.undefine()
            conn.close()
        log = (directory / "dnsmasq.log").read_text(errors="replace") if (directory / "dnsmasq.log").exists() else ""
        assert leased == nic["ip"], log
        assert "DHCPACK(cpdi" in log and nic["ip"] in log
    finally:
        from apps.infra import agent

        agent.call(kvm_host, "/v1/dhcp/delete", {"l3_uuid": l3["uuid"]})
        agent.call(kvm_host, "/v1/network/bridge/delete", {"bridge": bridge, "physical_interface": test_interface})
    assert not (libvirt_agent.state_dir / "dhcp" / l3["uuid"]).exists()
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert namespace not in netns
    assert ip_link(bridge) is None
    # exited: init may not have reaped it yet (a zombie is no server), which pgrep would still list
    assert not _running(dhcp["pid"])


def test_the_network_steps_read_the_l3_its_ranges_and_its_dhcp_server_once(sim_network,
                                                                            django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    host, l3 = sim_network
    first = run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=str(uuid.uuid4()),
                     l3_network_uuids=[l3["uuid"]], host_uuid=str(host.uuid))   # allocates the DHCP server's
    assert first.state == "succeeded", first.error
    l3_sql, range_sql = (f"SELECT {connection.ops.quote_name(t)}." for t in ("network_l3network", "network_iprange"))

    def run_counting_selects():
        with CaptureQueriesContext(connection) as queries:
            job = run_flow(VM_NETWORK, django_capture_on_commit_callbacks, vm_uuid=str(uuid.uuid4()),
                           l3_network_uuids=[l3["uuid"]], host_uuid=str(host.uuid))
        assert job.state == "succeeded", job.error
        selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
        return ([s for s in selects if s.startswith(l3_sql)], [s for s in selects if s.startswith(range_sql)],
                [s for s in selects if "DhcpServer" in s and not s.startswith(l3_sql)],
                [s for s in selects if "network_l2network_clusters" in s])   # the attachment check

    rowcache.forget()   # nothing kept from the first job: each read once
    assert [len(found) for found in run_counting_selects()] == [1, 1, 0, 1]
    # kept a second across jobs (apps.core.rowcache): the next job reads none of them
    assert [len(found) for found in run_counting_selects()] == [0, 0, 0, 0]
    dhcp = agent_state(host)["dhcp"][l3["uuid"]]
    assert dhcp["server_ip"] == "10.0.0.10" and dhcp["gateway"] == "10.0.0.1" and dhcp["netmask"] == "255.255.255.0"
    assert len(dhcp["entries"]) == 3   # three jobs, one NIC each


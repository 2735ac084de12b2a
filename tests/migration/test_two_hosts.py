"""The two-host fixture itself: two libvirtds, two agents, two Host rows of one KVM cluster."""
import pytest

from apps.infra import agent

pytestmark = pytest.mark.libvirt


def test_two_hosts_are_two_libvirtds_with_their_own_agents_and_local_storage(two_kvm_hosts):
    a, b = two_kvm_hosts.hosts.hosts
    host_a, host_b = two_kvm_hosts.rows
    assert host_a.cluster_id == host_b.cluster_id and host_a.facts["libvirt_remote_uri"] == a.remote_uri
    assert agent.call(host_b, "/v1/vm/states")["vms"] == {}
    # one path, each host's own directory; the shared one is the same on both
    for host, row in ((a, host_a), (b, host_b)):
        agent.call(row, "/v1/volume/create", {"path": f"{two_kvm_hosts.hosts.local_dir}/{host.name}.qcow2",
                                              "size": 1 << 20})
    # (the pair serves the whole run: other tests' volumes may be there too)
    seen_a, seen_b = ({p.name for p in host.local_backing.iterdir()} for host in (a, b))
    assert "a.qcow2" in seen_a and "b.qcow2" not in seen_a
    assert "b.qcow2" in seen_b and "a.qcow2" not in seen_b

"""The agent's migration paths on the two real libvirt hosts (no portal): a live migration that
takes longer than its timeout is aborted and the domain keeps running on its source; a retried
migration that already happened answers as it did; a file is served to a token the host's secret
made, and to nothing else."""
import hashlib
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

from hostagent.client import AgentError
from hostagent.file_tokens import file_url

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = pytest.mark.libvirt
RUNNING = 1   # libvirt.VIR_DOMAIN_RUNNING


@pytest.fixture
def running_vm(two_hosts):
    a = two_hosts.hosts[0]
    disk = two_hosts.shared_dir / f"{uuid.uuid4().hex}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    vm = str(uuid.uuid4())
    # 256 MiB of guest memory: long enough to copy that an abort lands mid-transfer
    a.agent.client.call("/v1/vm/define", {"vm_uuid": vm, "name": "mover", "cpu_num": 1, "memory_size": 256 << 20,
                                          "disk_path": str(disk), "start": True})
    yield vm, disk
    two_hosts.remove_domain(vm)
    disk.unlink(missing_ok=True)


def migrate(source, dest, vm, **extra):
    return source.agent.client.call("/v1/vm/migrate", {
        "vm_uuid": vm, "dest_host_uuid": dest.host_uuid, "dest_uri": dest.remote_uri, "dest_address": dest.address,
        "vnc_listen": dest.address, **extra})   # each host has an address of its own (tests/two_hosts.py)


def test_a_migration_past_its_timeout_is_aborted_and_the_vm_stays_running_on_its_source(two_hosts, running_vm):
    a, b = two_hosts.hosts
    vm, _ = running_vm
    with pytest.raises(AgentError) as refused:
        migrate(a, b, vm, timeout=0.05)
    assert refused.value.status == 409 and refused.value.code == "MIGRATION_TIMEOUT"
    assert two_hosts.where(vm) == {"a": RUNNING}
    answer = migrate(a, b, vm)
    assert answer["state"] == "Running" and answer["migration_time"] > 0 and answer["vnc_port"]
    assert two_hosts.where(vm) == {"b": RUNNING}
    # the same request again (a retry after a lost answer): already there, answered as a success
    again = migrate(a, b, vm)
    assert again["state"] == "Running" and again["migration_time"] == 0
    with pytest.raises(AgentError) as stopped:
        b.agent.client.call("/v1/vm/destroy", {"vm_uuid": vm})
        migrate(b, a, vm)
    assert stopped.value.status == 409 and stopped.value.code == "INVALID_STATE"


def test_a_file_is_served_to_its_token_only(two_hosts, running_vm):
    a = two_hosts.hosts[0]
    _, disk = running_vm
    exported = a.agent.client.call("/v1/volume/export", {"path": str(disk)})
    assert exported["sha256"] == hashlib.sha256(disk.read_bytes()).hexdigest()
    url = file_url(a.agent.url, a.host_uuid, a.secret, str(disk))
    with urllib.request.urlopen(url, timeout=10) as response:
        assert hashlib.sha256(response.read()).hexdigest() == exported["sha256"]
    for bad in (url.replace(str(disk.name), "other.qcow2"), file_url(a.agent.url, a.host_uuid, "not-the-secret",
                                                                     str(disk)),
                file_url(a.agent.url, a.host_uuid, a.secret, str(disk), ttl=-10)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=10)
        assert refused.value.code == 401

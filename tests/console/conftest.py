"""Console fixtures: a real libvirt host agent, a running QEMU domain with a VNC password,
and the portal rows (zone, cluster, Connected KVM host, Running VM) that point at them."""
import uuid

import pytest

from apps.infra.models import Cluster, Host, HostStatus, Zone
from tests.hostagent.conftest import remove_domain, start_libvirt_agent

from .helpers import make_vm

VNC_PASSWORD = "Pw3xY9zQ"


@pytest.fixture(scope="session")
def libvirt_agent(tmp_path_factory):
    """The real host agent over this machine's libvirtd (VNC listens on the agent's 127.0.0.1)."""
    agent = start_libvirt_agent(tmp_path_factory.mktemp("console-agent"), client_timeout=180)
    yield agent
    agent.stop()
    log = agent.log()
    assert agent.secret not in log and VNC_PASSWORD not in log   # secrets are never logged


@pytest.fixture(scope="session")
def running_domain(libvirt_agent):
    """A tiny TCG domain defined and started through the agent, with a VNC password."""
    vm_uuid = str(uuid.uuid4())
    client = libvirt_agent.client
    client.call("/v1/vm/define", {"vm_uuid": vm_uuid, "name": "console-test", "cpu_num": 1,
                                  "memory_size": 64 << 20, "vnc": True, "vnc_password": VNC_PASSWORD})
    assert client.call("/v1/vm/start", {"vm_uuid": vm_uuid})["state"] == "Running"
    yield vm_uuid
    remove_domain(vm_uuid)


def make_kvm_host(agent, **extra):
    cluster = Cluster.objects.create(name="kvm", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
    fields = dict(uuid=agent.host_uuid, name="kvm-1", cluster=cluster, hypervisor_type="KVM",
                  management_ip="127.0.0.1", agent_port=agent.port, agent_secret=agent.secret,
                  address_key=f"127.0.0.1:{agent.port}", status=HostStatus.CONNECTED, cpu_num=2,
                  memory_size=2 << 30)
    fields.update(extra)
    return Host.objects.create(**fields)


@pytest.fixture
def console_vm(transactional_db, libvirt_agent, running_domain):
    """A tenant's Running VM row on a Connected KVM host row, both the real ones above."""
    from apps.core.testing import make_account

    user = make_account("console-tenant")
    host = make_kvm_host(libvirt_agent)
    vm = make_vm(user.account, host, uuid=running_domain, console_password=VNC_PASSWORD)
    return user, vm

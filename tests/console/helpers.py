from apps.compute.models import VmInstance, VmState
from apps.infra.models import Cluster, Host, HostStatus, Zone
from tests.hostagent.conftest import free_port


def make_host(name="kvm-1", hypervisor_type="KVM", status=HostStatus.CONNECTED, **extra):
    """A KVM host row whose agent does not exist (enough for everything before the agent call)."""
    cluster = Cluster.objects.create(name=f"c-{name}", zone=Zone.objects.create(name=f"z-{name}"),
                                     hypervisor_type=hypervisor_type)
    port = free_port()
    fields = dict(name=name, cluster=cluster, hypervisor_type=hypervisor_type, management_ip="127.0.0.1",
                  agent_port=port, agent_secret="s" * 64, status=status, cpu_num=2, memory_size=2 << 30)
    if hypervisor_type == "KVM":
        fields["address_key"] = f"127.0.0.1:{port}"
    fields.update(extra)
    return Host.objects.create(**fields)


def make_vm(account, host, state=VmState.RUNNING, **extra):
    fields = dict(name="vm-1", account=account, host=host, state=state, cpu_num=1, memory_size=64 << 20)
    fields.update(extra)
    return VmInstance.objects.create(**fields)

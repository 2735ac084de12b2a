"""What deleting a compute resource does to its children."""
from apps.accounts.models import Account
from apps.core.cascade import before_delete, cascade

from .flows.deploy import undeploy_agent
from .models import Cluster, Host, VmInstance, Zone

cascade(Zone).deletes(Cluster, via="zone")
cascade(Cluster).deletes(Host, via="cluster")
# a host that still carries VMs is not deleted: stop and delete (or later migrate) them first;
# destroyed VMs in the recycle bin no longer hold a host (only last_host, set to NULL)
cascade(Host).refuses(VmInstance, via="host")
# an account that owns VMs (destroyed ones in the recycle bin too) is not deleted: its VMs are
# deleted and expunged first, through their own flows (docs/api.md)
cascade(Account).refuses(VmInstance, via="account")


def undeploy_kvm_agent(host):
    """A KVM host deleted (alone or as a cluster's or zone's child) loses its agent, best effort;
    last, once the other apps' clean-up has used the agent."""
    if host.hypervisor_type != "KVM":
        return None
    return {"undeploy": undeploy_agent(host)}


before_delete(Host, undeploy_kvm_agent, last=True)

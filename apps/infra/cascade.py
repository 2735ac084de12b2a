"""What deleting a zone, a cluster or a host does to its children."""
from apps.core.cascade import before_delete, cascade

from .flows.deploy import undeploy_agent
from .models import Cluster, Host, Zone

cascade(Zone).deletes(Cluster, via="zone")
cascade(Cluster).deletes(Host, via="cluster")


def undeploy_kvm_agent(host):
    """A KVM host deleted (alone or as a cluster's or zone's child) loses its agent, best effort;
    last, once the other apps' clean-up has used the agent."""
    if host.hypervisor_type != "KVM":
        return None
    return {"undeploy": undeploy_agent(host)}


before_delete(Host, undeploy_kvm_agent, last=True)

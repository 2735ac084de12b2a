from .cluster import Cluster, HypervisorType
from .host import HOST_STATE_MACHINE, HOST_STATUS_MACHINE, Host, HostState, HostStatus
from .nic import VmNic
from .offering import AllocatorStrategy, InstanceOffering
from .vm import VM_STATE_MACHINE, VmInstance, VmState
from .zone import Zone

__all__ = ["AllocatorStrategy", "Cluster", "HOST_STATE_MACHINE", "HOST_STATUS_MACHINE", "Host", "HostState",
           "HostStatus", "HypervisorType", "InstanceOffering", "VM_STATE_MACHINE", "VmInstance", "VmNic", "VmState", "Zone"]

from .cluster import Cluster, HypervisorType
from .host import HOST_STATE_MACHINE, HOST_STATUS_MACHINE, Host, HostState, HostStatus
from .zone import Zone

__all__ = ["Cluster", "HOST_STATE_MACHINE", "HOST_STATUS_MACHINE", "Host", "HostState", "HostStatus",
           "HypervisorType", "Zone"]

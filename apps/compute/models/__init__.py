from .cluster import Cluster, HypervisorType
from .zone import Zone

__all__ = ["Cluster", "HypervisorType", "Zone"]

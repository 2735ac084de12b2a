from .l2 import ATTACH_L2, DELETE_L2, DETACH_L2
from .l3 import DELETE_L3

__all__ = ["ATTACH_L2", "DELETE_L2", "DELETE_L3", "DETACH_L2"]

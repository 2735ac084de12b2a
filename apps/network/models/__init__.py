from .l2 import L2Network, L2NetworkType
from .l3 import IpRange, L3Network, L3NetworkCategory, UsedIp, UsedIpOwner

__all__ = ["IpRange", "L2Network", "L2NetworkType", "L3Network", "L3NetworkCategory", "UsedIp", "UsedIpOwner"]

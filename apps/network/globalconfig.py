"""Global configs of networking (ZStack's l3Network.* configs)."""
from apps.core.globalconfig import GlobalConfigDef, at_least, one_of

STRATEGIES = ("random", "first-available")

IP_ALLOCATE_STRATEGY = GlobalConfigDef(
    "l3Network", "ipAllocateStrategy", str, "random",
    "how a free IP is chosen: random (any free address of the ranges) or first-available (the lowest)",
    validator=one_of(*STRATEGIES), overridable_by=["L3Network"])
DHCP_LEASE_TIME = GlobalConfigDef(
    "l3Network", "dhcp.leaseTime", int, 86400, "seconds of a DHCP lease handed out by the hosts' DHCP servers",
    validator=at_least(120), overridable_by=["L3Network"])

"""Errors of networking, each with a code a program can switch on."""
from apps.core.errors import Conflict, InvalidArgument, Unplaceable


class NoAvailableIp(Unplaceable):
    """422: every address of the L3's ranges is handed out (or reserved)."""

    code = "NO_AVAILABLE_IP"


class IpInUse(Conflict):
    """409: a static IP that is already handed out (to a VM or the DHCP server)."""

    code = "IP_IN_USE"


class IpNotInRange(InvalidArgument):
    """400: a static IP outside every IP range of the L3."""

    code = "IP_NOT_IN_RANGE"


class IpReserved(InvalidArgument):
    """400: a static IP that is the gateway, the network or the broadcast address."""

    code = "IP_RESERVED"


class MacInUse(Conflict):
    code = "MAC_IN_USE"


class L2NotAttached(Conflict):
    """409: the host's cluster is not attached to the L2 network of an L3 a NIC is on."""

    code = "L2_NETWORK_NOT_ATTACHED"

"""IPv4 CIDR blocks of VPCs, vSwitches and route entries, checked the way the VPC service does."""
import ipaddress

from .errors import ApiError

# ranges a VPC may not use (link-local, loopback, multicast, the service range of the cloud)
_RESERVED = [ipaddress.ip_network(n) for n in ("100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4",
                                               "0.0.0.0/8", "240.0.0.0/4")]
VPC_MASKS = range(8, 29)        # /8 ... /28
VSWITCH_MASKS = range(16, 30)   # /16 ... /29


def _network(text, code, name):
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except (ValueError, TypeError):
        raise ApiError(400, code, f"The specified {name} \"{text}\" is not a valid CIDR block.") from None
    return network


def vpc_block(text):
    network = _network(text, "InvalidCidrBlock.Malformed", "CidrBlock")
    if network.prefixlen not in VPC_MASKS or any(network.overlaps(r) for r in _RESERVED):
        raise ApiError(400, "InvalidCidrBlock.Malformed",
                       f"The specified CidrBlock \"{text}\" is not valid: use a /8 to /28 block outside the reserved ranges.")
    return network


def vswitch_block(text, vpc_network):
    network = _network(text, "InvalidCidrBlock.Malformed", "CidrBlock")
    if network.prefixlen not in VSWITCH_MASKS:
        raise ApiError(400, "InvalidCidrBlock.Malformed",
                       f"The specified CidrBlock \"{text}\" is not valid: a vSwitch uses a /16 to /29 block.")
    if not network.subnet_of(vpc_network):
        raise ApiError(400, "InvalidCidrBlock.Malformed",
                       f"The specified CidrBlock \"{text}\" is not within the VPC's CIDR block {vpc_network}.")
    return network


def destination_block(text):
    return _network(text, "InvalidDestinationCidrBlock.Malformed", "DestinationCidrBlock")


def usable_addresses(network):
    """The addresses a vSwitch can hand out: the first and the last three of each block are the cloud's."""
    return max(network.num_addresses - 4, 0)

"""What deleting a network resource does to its children (ZStack: an L2 takes its L3s with it)."""
from apps.core.cascade import RULES, Rule, cascade
from apps.infra.models import Zone

from .models import IpRange, L2Network, L3Network, UsedIp, UsedIpOwner

cascade(Zone).deletes(L2Network, via="zone")
cascade(L2Network).deletes(L3Network, via="l2_network")
cascade(L3Network).deletes(IpRange, via="l3_network")


class _VmAddressesRefuse(Rule):
    """An L3 whose addresses are held by VM NICs cannot be deleted (release the VMs' NICs first);
    the DHCP server's own address goes with the L3."""

    def children(self, parent):
        return UsedIp.objects.filter(l3_network=parent, owner_type=UsedIpOwner.VM_NIC).order_by("ip_int")


RULES[L3Network].append(_VmAddressesRefuse(UsedIp, "l3_network", "refuse"))

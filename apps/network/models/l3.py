"""L3 networks, their IP ranges, and the addresses handed out from them (IPAM: ../ipam.py)."""
import ipaddress
import uuid as uuid_lib

from django.db import models
from django.db.models import OuterRef, Subquery

from apps.core.models import FastQuerySet, Resource, ResourceQuerySet, compiled, kept


class L3NetworkCategory(models.TextChoices):
    PRIVATE = "Private"
    PUBLIC = "Public"
    SYSTEM = "System"


def _is_dhcp_server(used_ip):
    return used_ip.owner_type == UsedIpOwner.DHCP_SERVER


class L3NetworkQuerySet(ResourceQuerySet):
    @compiled
    def with_uuids(self, uuids):
        """The L3s of ``uuids`` that exist (only their id and uuid)."""
        return self.filter(uuid__in=uuids).only("id", "uuid").order_by()

    @kept(invalidated_by=["network.L3Network", "network.L2Network", ("network.UsedIp", _is_dhcp_server)])
    @compiled
    def kept_with_dhcp_server(self, uuid):
        """The L3 with its L2 and ``server_address`` (its DHCP server's address, None when it has
        none yet), or None, as read up to a second ago."""
        server = UsedIp.objects.filter(l3_network=OuterRef("pk"), owner_type=UsedIpOwner.DHCP_SERVER)
        return (self.select_related("l2_network").annotate(server_address=Subquery(server.values("ip")[:1]))
                .filter(uuid=uuid).first())


class L3Network(Resource):
    """A subnet on an L2 network. All its IP ranges share one netmask and gateway (one subnet);
    with ``dhcp`` the hosts run a DHCP server for it (flat networking, apps/network/dhcp.py)."""

    l2_network = models.ForeignKey("network.L2Network", on_delete=models.PROTECT, related_name="l3_networks")
    category = models.CharField(max_length=16, choices=L3NetworkCategory.choices, default=L3NetworkCategory.PRIVATE)
    dns = models.JSONField(default=list, blank=True)
    dhcp = models.BooleanField(default=True)

    objects = L3NetworkQuerySet.as_manager()

    class Meta(Resource.Meta):
        pass

    class Query:
        fields = ["uuid", "name", "description", "category", "dhcp", "l2_network_uuid", "zone_uuid",
                  "created_at", "updated_at"]
        aliases = {"l2_network_uuid": "l2_network__uuid", "zone_uuid": "l2_network__zone__uuid"}
        relations = ["l2_network", "ip_ranges"]

    def config_parent(self):
        return None

    def subnet(self):
        """(netmask, gateway) of the L3, from its ranges; (None, None) without ranges."""
        first = self.ip_ranges.order_by("start_int").first()
        return (first.netmask, first.gateway) if first else (None, None)

    def dhcp_server_ip(self):
        row = self.used_ips.filter(owner_type=UsedIpOwner.DHCP_SERVER).first()
        return row.ip if row else None


class IpRangeQuerySet(ResourceQuerySet):
    @kept(invalidated_by=["network.IpRange"])
    @compiled
    def kept_of_l3(self, l3_id):
        """The L3's ranges by start address, as read up to a second ago."""
        return self.filter(l3_network_id=l3_id).order_by("start_int")


class IpRange(Resource):
    l3_network = models.ForeignKey(L3Network, on_delete=models.CASCADE, related_name="ip_ranges")
    start_ip = models.CharField(max_length=15)
    end_ip = models.CharField(max_length=15)
    netmask = models.CharField(max_length=15)
    gateway = models.CharField(max_length=15)
    network_cidr = models.CharField(max_length=18, editable=False)
    start_int = models.BigIntegerField(editable=False)
    end_int = models.BigIntegerField(editable=False)

    objects = IpRangeQuerySet.as_manager()

    class Meta(Resource.Meta):
        indexes = [models.Index(fields=["l3_network", "start_int"], name="iprange_l3_start")]

    class Query:
        fields = ["uuid", "name", "description", "start_ip", "end_ip", "netmask", "gateway", "network_cidr",
                  "l3_network_uuid", "created_at", "updated_at"]
        aliases = {"l3_network_uuid": "l3_network__uuid"}
        relations = ["l3_network"]

    @property
    def network(self):
        return ipaddress.IPv4Network(self.network_cidr)

    @property
    def size(self):
        return self.end_int - self.start_int + 1


class UsedIpOwner(models.TextChoices):
    VM_NIC = "VmNic"
    DHCP_SERVER = "DhcpServer"


class UsedIp(models.Model):
    """One handed-out address. Unique (l3, ip): an address can never be given twice; the insert is
    the allocation (ipam.py). ``mac`` (VM NICs) is unique too."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    l3_network = models.ForeignKey(L3Network, on_delete=models.CASCADE, related_name="used_ips")
    ip_range = models.ForeignKey(IpRange, on_delete=models.CASCADE, related_name="used_ips")
    ip = models.CharField(max_length=15)
    ip_int = models.BigIntegerField()
    mac = models.CharField(max_length=17, null=True, blank=True)
    owner_type = models.CharField(max_length=16, choices=UsedIpOwner.choices)
    owner_uuid = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FastQuerySet.as_manager()

    class Meta:
        ordering = ["ip_int"]
        constraints = [
            models.UniqueConstraint(fields=["l3_network", "ip_int"], name="usedip_unique_l3_ip"),
            models.UniqueConstraint(fields=["mac"], name="usedip_unique_mac"),
        ]

    class Query:
        fields = ["uuid", "ip", "mac", "owner_type", "owner_uuid", "l3_network_uuid", "ip_range_uuid", "created_at"]
        aliases = {"l3_network_uuid": "l3_network__uuid", "ip_range_uuid": "ip_range__uuid"}
        relations = ["l3_network", "ip_range"]

    # what the cascade-delete plan shows when VM addresses block deleting an L3 network
    @classmethod
    def resource_type(cls):
        return "UsedIp"

    @property
    def name(self):
        return self.ip

    def __str__(self):
        return f"UsedIp {self.ip} ({self.owner_type} {self.owner_uuid})"

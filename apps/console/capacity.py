"""The dashboard's capacity: CPU and memory of the hosts and primary storage, used of total, per
zone and per cluster, and the hosts that are Disconnected.

The database sums them (a grouped query per figure, whatever the number of hosts), counted as the
API counts them for one host or one primary storage: a host's total CPUs are its physical ones
times the over-provisioning ratio in force (``Host.total_cpu``; the ratio of the cluster, or the
host's own for a host that overrides it), and what is used is what is no longer available
(``available_cpu`` = total - reserved - used); a local primary storage's figures are the sums of
its per-host rows (``LocalStorageHostRef``). The figures are shown to whoever the API shows them
to: a field the API keeps for admins (``admin_only_fields``) is left out for a normal account.
"""
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from apps.core.api.serializers import admin_only_fields
from apps.core.tenancy import is_admin, visible
from apps.core.ui.cells import human_bytes
from apps.infra.globalconfig import CPU_RATIO, MEMORY_RATIO
from apps.infra.models import Cluster, Host, HostStatus, Zone
from apps.infra.serializers import HostSerializer
from apps.storage.models import LocalStorageHostRef
from apps.storage.serializers import PrimaryStorageSerializer

HOST_FIGURES = {"cpu_num", "used_cpu", "reserved_cpu", "total_cpu", "available_cpu",
                "memory_size", "used_memory", "reserved_memory", "total_memory", "available_memory"}
STORAGE_FIGURES = {"total_capacity", "available_capacity"}
DISCONNECTED_SHOWN = 20


@dataclass
class Figure:
    used: int = 0
    total: int = 0
    in_bytes: bool = False

    def __add__(self, other):
        return Figure(self.used + other.used, self.total + other.total, self.in_bytes or other.in_bytes)

    @property
    def percent(self):
        return min(100, round(100 * self.used / self.total)) if self.total > 0 else 0

    @property
    def text(self):
        show = human_bytes if self.in_bytes else str
        return f"{show(self.used)} / {show(self.total)}"


@dataclass
class Capacity:
    """One zone's or cluster's figures."""
    hosts: int = 0
    connected: int = 0
    cpu: Figure = None
    memory: Figure = None
    storage: Figure = None

    def __post_init__(self):
        self.cpu = self.cpu or Figure()
        self.memory = self.memory or Figure(in_bytes=True)
        self.storage = self.storage or Figure(in_bytes=True)

    def __add__(self, other):
        return Capacity(self.hosts + other.hosts, self.connected + other.connected, self.cpu + other.cpu,
                        self.memory + other.memory, self.storage + other.storage)


SUMS = {"hosts": Count("id"), "connected": Count("id", filter=Q(status=HostStatus.CONNECTED)),
        "cpu_num": Sum("cpu_num"), "used_cpu": Sum("used_cpu"), "reserved_cpu": Sum("reserved_cpu"),
        "memory_size": Sum("memory_size"), "used_memory": Sum("used_memory"),
        "reserved_memory": Sum("reserved_memory")}


def _host_capacity(sums, cpu_ratio, memory_ratio):
    total_cpu = int((sums["cpu_num"] or 0) * cpu_ratio)
    total_memory = int((sums["memory_size"] or 0) * memory_ratio)
    return Capacity(
        sums["hosts"], sums["connected"],
        cpu=Figure((sums["used_cpu"] or 0) + (sums["reserved_cpu"] or 0), total_cpu),
        memory=Figure((sums["used_memory"] or 0) + (sums["reserved_memory"] or 0), total_memory, in_bytes=True))


def by_cluster():
    """``{cluster id: Capacity}`` of every cluster with hosts or storage."""
    own_ratio = set(CPU_RATIO.overrides()) | set(MEMORY_RATIO.overrides())  # uuids of any type
    clusters = {c.pk: c for c in Cluster.objects.select_related("zone")}
    found = {}
    for row in Host.objects.exclude(uuid__in=own_ratio).values("cluster_id").annotate(**SUMS).order_by():
        cluster = clusters[row["cluster_id"]]
        found[cluster.pk] = _host_capacity(row, float(CPU_RATIO.value(resource=cluster)),
                                           float(MEMORY_RATIO.value(resource=cluster)))
    # a host with a ratio of its own is summed with it (there are few)
    for host in Host.objects.filter(uuid__in=own_ratio).select_related("cluster__zone"):
        one = {"hosts": 1, "connected": int(host.status == HostStatus.CONNECTED), **{
            name: getattr(host, name) for name in SUMS if name not in ("hosts", "connected")}}
        found[host.cluster_id] = found.get(host.cluster_id, Capacity()) + _host_capacity(one, *host.ratios())
    for row in LocalStorageHostRef.objects.values("host__cluster_id").annotate(
            total=Sum("total_capacity"), used=Sum("used_capacity")).order_by():
        found.setdefault(row["host__cluster_id"], Capacity()).storage = Figure(row["used"] or 0, row["total"] or 0,
                                                                               in_bytes=True)
    return found


def by_zone(clusters):
    """``{zone id: Capacity}``: its clusters' hosts; its primary storage's per-host rows."""
    found = {}
    zone_of = dict(Cluster.objects.values_list("pk", "zone_id"))
    for cluster_id, capacity in clusters.items():
        zone_id = zone_of[cluster_id]
        found[zone_id] = found.get(zone_id, Capacity()) + Capacity(
            capacity.hosts, capacity.connected, capacity.cpu, capacity.memory)
    for row in LocalStorageHostRef.objects.values("primary_storage__zone_id").annotate(
            total=Sum("total_capacity"), used=Sum("used_capacity")).order_by():
        found.setdefault(row["primary_storage__zone_id"], Capacity()).storage = Figure(
            row["used"] or 0, row["total"] or 0, in_bytes=True)
    return found


def shown_to(user):
    """Which figures ``user`` may see: ``(hosts', storage's)``, as the API shows them."""
    if is_admin(user):
        return True, True
    return (not HOST_FIGURES & admin_only_fields(HostSerializer),
            not STORAGE_FIGURES & admin_only_fields(PrimaryStorageSerializer))


def capacity(user):
    """``{"zones": [(zone, Capacity)], "clusters": [(cluster, Capacity)], "hosts": bool, "storage":
    bool}``: every zone and cluster ``user`` sees, by name."""
    hosts_shown, storage_shown = shown_to(user)
    clusters = by_cluster()
    zones = by_zone(clusters)
    return {
        "zones": [(zone, zones.get(zone.pk, Capacity())) for zone in visible(Zone.objects.order_by("name"), user)],
        "clusters": [(cluster, clusters.get(cluster.pk, Capacity()))
                     for cluster in visible(Cluster.objects.select_related("zone").order_by("zone__name", "name"),
                                            user)],
        "hosts": hosts_shown, "storage": storage_shown,
    }


def disconnected_hosts(user, limit=DISCONNECTED_SHOWN):
    """``(hosts, count)``: the Disconnected hosts ``user`` sees, the longest silent first."""
    rows = visible(Host.objects.filter(status=HostStatus.DISCONNECTED), user)
    return list(rows.select_related("cluster__zone").order_by("last_ping_at", "name")[:limit]), rows.count()


def address_shown_to(user):
    return is_admin(user) or "management_ip" not in admin_only_fields(HostSerializer)


def hosts_followed(user):
    """The uuids of the hosts ``user`` sees: the dashboard follows them over /ws/events/, so a
    host that goes Disconnected (or comes back) shows at once."""
    return [str(uuid) for uuid in visible(Host.objects.all(), user).values_list("uuid", flat=True)]

"""Host allocation: a chain of filters, then a strategy (ZStack's HostAllocatorChain).

``candidates(spec)`` narrows the hosts with each filter of ``HOST_FILTERS`` in turn.
The filters that can be said in SQL are applied to one query (the fast path is a
single SELECT); only when nothing is left does the chain run filter by filter to
name the one that emptied it, so the 422 says why ("no Connected host in cluster
c1", "no host with 4 free CPUs"). The strategy then orders what passed, and the
caller reserves capacity on the first host whose conditional UPDATE succeeds (a
host filled by a concurrent request in the meantime is simply skipped).

Capacity in SQL uses the largest over-provisioning ratio in force anywhere, a
superset; the exact per-host ratio (cluster and host overrides) is checked in
Python on the few hosts the strategy puts first and again by ``Host.reserve``.

A filter's condition is a module-level function making a Q of the request's values
(``placement_values``), so the random strategy's window query (the one run for every VM placed)
is one compiled query (``Host.objects.placement_window``) made once per set of filters, and the
422's explanation runs the same conditions through the ORM. A filter from another app
(``PlacementSpec.extra_filters``) is ``(name, condition, reason)`` over the values it adds in
``PlacementSpec.extra_values``.
"""
import random
import time
from dataclasses import dataclass, field

from django.db.models import Count, F, Max, Min, Q
from django.db.models.lookups import In

from apps.core.errors import Unplaceable

from apps.infra.globalconfig import CPU_RATIO, MEMORY_RATIO
from apps.infra.models import Cluster, Host, HostState, HostStatus
from apps.infra.models.host import PLACEMENT_FIELDS

from .models import AllocatorStrategy, VmState

# how many of the ordered candidates are loaded and checked exactly per round
CANDIDATES_CHECKED = 8
# VM states that hold capacity on their host (least-VM counts these)
VM_STATES_ON_HOST = (VmState.STARTING, VmState.RUNNING, VmState.STOPPING, VmState.REBOOTING, VmState.PAUSING,
                     VmState.PAUSED, VmState.RESUMING, VmState.MIGRATING, VmState.UNKNOWN)


@dataclass
class PlacementSpec:
    cpu_num: int
    memory_size: int
    hypervisor_types: tuple = ("KVM", "Simulator")
    zone_uuid: str | None = None
    cluster_uuid: str | None = None
    host_uuid: str | None = None
    # clusters the VM's L3 networks reach (None: no constraint): their uuids, or their primary keys
    cluster_uuids: list | None = None
    cluster_ids: list | None = None
    avoid_host_uuids: list = field(default_factory=list)
    last_host_uuid: str | None = None
    strategy: str = AllocatorStrategy.RANDOM
    # filters from other apps (primary storage capacity): (name, condition(values), reason), and
    # the values their conditions read
    extra_filters: list = field(default_factory=list)
    extra_values: dict = field(default_factory=dict)


def _max_ratio(config):
    return max([float(config.value())] + [float(v) for v in config.overrides().values()])


def placement_values(spec):
    """What the filters' conditions read of a request (the values of the compiled window query)."""
    return {
        "zone_uuid": spec.zone_uuid, "cluster_uuid": spec.cluster_uuid, "host_uuid": spec.host_uuid,
        "cluster_ids": spec.cluster_ids, "cluster_uuids": spec.cluster_uuids,
        "hypervisor_types": list(spec.hypervisor_types), "avoid_host_uuids": spec.avoid_host_uuids or None,
        "cpu_ratio": _max_ratio(CPU_RATIO), "memory_ratio": _max_ratio(MEMORY_RATIO),
        "cpu_num": int(spec.cpu_num), "memory_size": int(spec.memory_size), **spec.extra_values,
    }


def _in_zone(v):
    return Q(cluster__zone__uuid=v["zone_uuid"])


def _in_cluster(v):
    return Q(cluster__uuid=v["cluster_uuid"])


def _is_host(v):
    return Q(uuid=v["host_uuid"])


def _in_cluster_ids(v):
    # the lookup itself: cluster_id__in would be a RelatedIn, which casts each value to int
    return In(F("cluster_id"), v["cluster_ids"])


def _in_cluster_uuids(v):
    return Q(cluster__uuid__in=v["cluster_uuids"])


def _usable(v):
    return Q(state=HostState.ENABLED, status=HostStatus.CONNECTED)


def _of_hypervisor(v):
    return Q(hypervisor_type__in=v["hypervisor_types"])


def _not_avoided(v):
    return ~Q(uuid__in=v["avoid_host_uuids"])


def _with_room(v):
    # the largest ratio in force anywhere: a superset, checked exactly per host afterwards
    return Q(used_cpu__lte=F("cpu_num") * v["cpu_ratio"] - F("reserved_cpu") - v["cpu_num"],
             used_memory__lte=F("memory_size") * v["memory_ratio"] - F("reserved_memory") - v["memory_size"])


def host_filters(spec):
    """``[(name, condition, reason)]`` in ZStack's order; each condition makes a Q of the values
    (``placement_values``) that narrows Host rows."""
    filters = []
    # where the VM may go first, so the reason names what the request narrowed down to
    if spec.zone_uuid:
        filters.append(("Zone", _in_zone, f"no host in zone {spec.zone_uuid}"))
    if spec.cluster_uuid:
        filters.append(("Cluster", _in_cluster, f"no host in cluster {spec.cluster_uuid}"))
    if spec.host_uuid:
        filters.append(("Host", _is_host, f"host {spec.host_uuid} does not exist"))
    if spec.cluster_ids is not None or spec.cluster_uuids is not None:
        filters.append(("AttachedNetwork", _in_cluster_ids if spec.cluster_ids is not None else _in_cluster_uuids,
                        "no host in a cluster attached to the L2 networks of the VM's L3 networks"))
    filters += [
        ("HostStateAndStatus", _usable, "no host left is both Enabled and Connected"),
        ("HypervisorType", _of_hypervisor, f"no host left of hypervisor type {', '.join(spec.hypervisor_types)}"),
    ]
    if spec.avoid_host_uuids:
        filters.append(("Avoid", _not_avoided, "every usable host is on the avoid list"))
    filters.append(("HostCapacity", _with_room,
                    f"no host has {spec.cpu_num} CPUs and {spec.memory_size} bytes of memory free"))
    filters.extend(spec.extra_filters)
    return filters


def _explain(filters, values):
    """Run the chain filter by filter: the first that leaves nothing is the reason."""
    query = Host.objects.all()
    for name, condition, reason in filters:
        query = query.filter(condition(values))
        if not query.exists():
            return name, reason
    return None, "every candidate was filled by concurrent requests"


def _ordered(filters, values, spec):
    """The hosts the strategy puts first."""
    def filtered():
        return Host.objects.filter(*(condition(values) for _, condition, _ in filters))

    if spec.strategy == AllocatorStrategy.LEAST_VM:
        query = filtered()
        query = query.annotate(vm_count=Count("vm_instances", filter=Q(vm_instances__state__in=VM_STATES_ON_HOST)))
        return list(query.only(*PLACEMENT_FIELDS).order_by("vm_count", "id")[:CANDIDATES_CHECKED])
    chosen = _random_window(filters, values)
    if spec.strategy == AllocatorStrategy.LAST_HOST and spec.last_host_uuid:
        last = list(filtered().filter(uuid=spec.last_host_uuid).only(*PLACEMENT_FIELDS))
        chosen = last + [h for h in chosen if h.pk not in {x.pk for x in last}]
    return chosen


_ID_RANGE = {"bounds": None, "read_at": 0.0}
ID_RANGE_SECONDS = 10.0


def _host_id_range():
    """(lowest, highest) host id, read at most every ID_RANGE_SECONDS per process (a host added
    since is still reached: the walk below runs past the highest id it knows)."""
    now = time.monotonic()
    if _ID_RANGE["bounds"] is None or now - _ID_RANGE["read_at"] > ID_RANGE_SECONDS:
        bounds = Host.objects.aggregate(low=Min("id"), high=Max("id"))
        _ID_RANGE.update(bounds=(bounds["low"] or 0, bounds["high"] or 0), read_at=now)
    return _ID_RANGE["bounds"]


def _random_window(filters, values):
    """Random strategy: CANDIDATES_CHECKED hosts that pass the filters, from a random point of the
    primary key onwards (wrapping around), in random order. The database stops after that many
    matches instead of filtering and sorting every host (ORDER BY RAND()), so the cost does not
    grow with the number of hosts while most of them have room."""
    low, high = _host_id_range()
    start = random.randint(low, max(low, high))
    conditions = tuple(condition for _, condition, _ in filters)
    chosen = Host.objects.placement_window(conditions, values, start, CANDIDATES_CHECKED)
    if len(chosen) < CANDIDATES_CHECKED:  # wrap around (also right when the ids cached are stale)
        chosen += Host.objects.placement_window(conditions, values, start, CANDIDATES_CHECKED - len(chosen),
                                                wrapped=True)
    random.shuffle(chosen)
    return chosen


def _set_ratios(hosts):
    """Give each host its over-provisioning ratios (own override, then its cluster's, then its
    zone's, then global) from the cached override table, instead of two queries per host. The
    uuids of their clusters and zones are read (one query) only when some override exists."""
    overrides = {(config.name, str(uuid)): float(value)
                 for config in (CPU_RATIO, MEMORY_RATIO) for uuid, value in config.overrides().items()}
    defaults = {CPU_RATIO.name: float(CPU_RATIO.value()), MEMORY_RATIO.name: float(MEMORY_RATIO.value())}
    owners = {}  # cluster id -> (cluster uuid, zone uuid)
    if overrides and hosts:
        owners = {pk: (str(cluster), str(zone)) for pk, cluster, zone in Cluster.objects.filter(
            pk__in={h.cluster_id for h in hosts}).values_list("pk", "uuid", "zone__uuid")}

    def ratio(name, host):
        if not overrides:
            return defaults[name]
        for owner in (str(host.uuid), *owners.get(host.cluster_id, ())):
            if (name, owner) in overrides:
                return overrides[(name, owner)]
        return defaults[name]

    for host in hosts:
        host.__dict__["_ratios"] = (ratio(CPU_RATIO.name, host), ratio(MEMORY_RATIO.name, host))
    return hosts


def candidates(spec):
    """Hosts that fit ``spec``, best first (at most CANDIDATES_CHECKED); raises Unplaceable (422)."""
    filters, values = host_filters(spec), placement_values(spec)
    ordered = [h for h in _set_ratios(_ordered(filters, values, spec))
               if h.available_cpu >= spec.cpu_num and h.available_memory >= spec.memory_size]
    if not ordered:
        name, reason = _explain(filters, values)
        raise Unplaceable(f"no host fits the VM: {reason}", code="NO_HOST_AVAILABLE",
                          details={"filter": name, "cpu_num": spec.cpu_num, "memory_size": spec.memory_size})
    return ordered


def reserve_host(spec, rounds=3):
    """Place and reserve in one go: the first candidate whose conditional UPDATE succeeds (a Host
    with the ``PLACEMENT_FIELDS`` loaded; the rest would be read field by field).

    Candidates a concurrent request filled first are skipped; after a round where all of
    them were, the chain runs again on what is left."""
    for _ in range(rounds):
        for host in candidates(spec):
            if host.reserve(spec.cpu_num, spec.memory_size, ratios=host.ratios()):
                return host
    name, reason = _explain(host_filters(spec), placement_values(spec))
    raise Unplaceable(f"no host fits the VM: {reason}", code="NO_HOST_AVAILABLE",
                      details={"filter": name, "cpu_num": spec.cpu_num, "memory_size": spec.memory_size})

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

The filters take their values as ``apps.core.prepared`` Params, so the random strategy's window
query (the one run for every VM placed) is compiled once per shape of request and then only
bound to new values. A filter's condition is a Q, or a function making one (called only when
the query is compiled or a 422 is explained: a subquery costs that much to build). A filter from
another app (``PlacementSpec.extra_filters``) is ``(name, build, reason)``: ``build(p)`` makes
its Params from ``p`` at once and returns the function making its Q.
"""
import random
import time
from dataclasses import dataclass, field

from django.db.models import Count, F, Max, Min, Q
from django.db.models.lookups import In

from apps.core import prepared
from apps.core.errors import Unplaceable
from apps.core.prepared import Params

from .globalconfig import CPU_RATIO, MEMORY_RATIO
from .models import AllocatorStrategy, Cluster, Host, HostState, HostStatus, VmState

# how many of the ordered candidates are loaded and checked exactly per round
CANDIDATES_CHECKED = 8
# what placement reads of a candidate: its capacity (no join, no secret, no JSON). Whoever goes on
# with the chosen host loads the whole row once (AllocateHost: ctx_host; dry_run).
PLACEMENT_FIELDS = ("id", "uuid", "cluster_id", "cpu_num", "memory_size", "used_cpu", "used_memory",
                    "reserved_cpu", "reserved_memory")
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
    # extra SQL filters from other apps (primary storage capacity): (name, build(p), reason), above
    extra_filters: list = field(default_factory=list)


def _max_ratio(config):
    return max([float(config.value())] + [float(v) for v in config.overrides().values()])


def host_filters(spec, p):
    """``[(name, condition, reason)]`` in ZStack's order; each condition (a Q, or a function
    making one: ``_q``) narrows Host rows. The request's values go in as Params from ``p``."""
    uuid = Host._meta.get_field("uuid")
    filters = []
    # where the VM may go first, so the reason names what the request narrowed down to
    if spec.zone_uuid:
        filters.append(("Zone", Q(cluster__zone__uuid=p("zone", spec.zone_uuid, uuid)),
                        f"no host in zone {spec.zone_uuid}"))
    if spec.cluster_uuid:
        filters.append(("Cluster", Q(cluster__uuid=p("cluster", spec.cluster_uuid, uuid)),
                        f"no host in cluster {spec.cluster_uuid}"))
    if spec.host_uuid:
        filters.append(("Host", Q(uuid=p("host", spec.host_uuid, uuid)), f"host {spec.host_uuid} does not exist"))
    if spec.cluster_ids is not None or spec.cluster_uuids is not None:
        if spec.cluster_ids is not None:
            # the lookup itself: cluster_id__in would be a RelatedIn, which casts each value to int
            attached = In(F("cluster_id"), p.many("attached_cluster_id", spec.cluster_ids, Cluster._meta.pk))
        else:
            attached = Q(cluster__uuid__in=p.many("attached_cluster", spec.cluster_uuids, uuid))
        filters.append(("AttachedNetwork", attached,
                        "no host in a cluster attached to the L2 networks of the VM's L3 networks"))
    filters += [
        ("HostStateAndStatus", Q(state=HostState.ENABLED, status=HostStatus.CONNECTED),
         "no host left is both Enabled and Connected"),
        ("HypervisorType", Q(hypervisor_type__in=p.many("hypervisor", spec.hypervisor_types, prepared.TEXT)),
         f"no host left of hypervisor type {', '.join(spec.hypervisor_types)}"),
    ]
    if spec.avoid_host_uuids:
        filters.append(("Avoid", ~Q(uuid__in=p.many("avoid", spec.avoid_host_uuids, uuid)),
                        "every usable host is on the avoid list"))
    cpu_ratio, memory_ratio = _max_ratio(CPU_RATIO), _max_ratio(MEMORY_RATIO)
    filters.append(("HostCapacity", Q(
        used_cpu__lte=F("cpu_num") * p("cpu_ratio", cpu_ratio, prepared.FLOAT) - F("reserved_cpu")
        - p("cpu", spec.cpu_num, prepared.INTEGER),
        used_memory__lte=F("memory_size") * p("memory_ratio", memory_ratio, prepared.FLOAT) - F("reserved_memory")
        - p("memory", spec.memory_size, prepared.BIG_INTEGER)),
        f"no host has {spec.cpu_num} CPUs and {spec.memory_size} bytes of memory free"))
    filters.extend((name, build(p), reason) for name, build, reason in spec.extra_filters)
    return filters


def _q(condition):
    return condition() if callable(condition) else condition


def _explain(filters):
    """Run the chain filter by filter: the first that leaves nothing is the reason."""
    query = Host.objects.all()
    for name, condition, reason in filters:
        query = query.filter(_q(condition))
        if not query.exists():
            return name, reason
    return None, "every candidate was filled by concurrent requests"


def _ordered(filtered, spec, filters, p):
    """The hosts the strategy puts first; ``filtered()`` is the ORM query of every filter."""
    if spec.strategy == AllocatorStrategy.LEAST_VM:
        query = filtered()
        query = query.annotate(vm_count=Count("vm_instances", filter=Q(vm_instances__state__in=VM_STATES_ON_HOST)))
        return list(query.only(*PLACEMENT_FIELDS).order_by("vm_count", "id")[:CANDIDATES_CHECKED])
    chosen = _random_window(filtered, filters, p)
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


def _random_window(filtered, filters, p):
    """Random strategy: CANDIDATES_CHECKED hosts that pass the filters, from a random point of the
    primary key onwards (wrapping around), in random order. The database stops after that many
    matches instead of filtering and sorting every host (ORDER BY RAND()), so the cost does not
    grow with the number of hosts while most of them have room. A prepared query: its shape is
    which filters there are (and the Params' names, which ``prepared.select`` adds)."""
    low, high = _host_id_range()
    start = random.randint(low, max(low, high))
    id_field = Host._meta.pk
    shape = ("allocator-window", tuple(name for name, _, _ in filters))

    def window(condition, limit):
        return lambda: filtered().filter(condition).only(*PLACEMENT_FIELDS).order_by("id")[:limit]

    p_from = p.copy()
    chosen = prepared.select(Host, shape + ("from",), window(Q(id__gte=p_from("start", start, id_field)),
                                                                 CANDIDATES_CHECKED), p_from)
    if len(chosen) < CANDIDATES_CHECKED:  # wrap around (also right when the ids cached are stale)
        p_before, missing = p.copy(), CANDIDATES_CHECKED - len(chosen)
        chosen += prepared.select(Host, shape + ("before", missing),
                                  window(Q(id__lt=p_before("start", start, id_field)), missing), p_before)
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
    p = Params()
    filters = host_filters(spec, p)

    def filtered():
        query = Host.objects.all()
        for _, condition, _ in filters:
            query = query.filter(_q(condition))
        return query

    ordered = [h for h in _set_ratios(_ordered(filtered, spec, filters, p))
               if h.available_cpu >= spec.cpu_num and h.available_memory >= spec.memory_size]
    if not ordered:
        name, reason = _explain(filters)
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
    name, reason = _explain(host_filters(spec, Params()))
    raise Unplaceable(f"no host fits the VM: {reason}", code="NO_HOST_AVAILABLE",
                      details={"filter": name, "cpu_num": spec.cpu_num, "memory_size": spec.memory_size})

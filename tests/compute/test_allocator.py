"""The host allocator: each filter of the chain, the strategies, and the reason when nothing fits."""
import pytest

from apps.compute.allocator import PlacementSpec, candidates, reserve_host
from apps.compute.models import VmInstance
from apps.core.errors import Unplaceable
from apps.core.models import ResourceConfig
from apps.infra.models import Cluster, Host, Zone
from tests.conftest import make_account

pytestmark = pytest.mark.django_db
GIB = 1 << 30


@pytest.fixture
def hosts():
    zone = Zone.objects.create(name="z1")
    c1 = Cluster.objects.create(name="c1", zone=zone, hypervisor_type="Simulator")
    c2 = Cluster.objects.create(name="c2", zone=Zone.objects.create(name="z2"), hypervisor_type="Simulator")

    def host(name, cluster, **kw):
        fields = {"status": "Connected", "state": "Enabled", "cpu_num": 4, "memory_size": 8 * GIB, **kw}
        return Host.objects.create(name=name, cluster=cluster, hypervisor_type="Simulator",
                                   management_ip="127.0.0.1", **fields)

    return {"h1": host("h1", c1), "h2": host("h2", c1), "h3": host("h3", c2),
            "disabled": host("disabled", c1, state="Disabled"), "down": host("down", c1, status="Disconnected"),
            "c1": c1, "c2": c2, "z1": zone}


def names(spec):
    return {h.name for h in candidates(spec)}


def test_only_enabled_connected_hosts_are_candidates(hosts):
    assert names(PlacementSpec(cpu_num=1, memory_size=GIB)) == {"h1", "h2", "h3"}


def test_zone_cluster_and_host_pinning(hosts):
    assert names(PlacementSpec(cpu_num=1, memory_size=GIB, zone_uuid=str(hosts["z1"].uuid))) == {"h1", "h2"}
    assert names(PlacementSpec(cpu_num=1, memory_size=GIB, cluster_uuid=str(hosts["c2"].uuid))) == {"h3"}
    assert names(PlacementSpec(cpu_num=1, memory_size=GIB, host_uuid=str(hosts["h2"].uuid))) == {"h2"}
    with pytest.raises(Unplaceable) as err:
        candidates(PlacementSpec(cpu_num=1, memory_size=GIB, host_uuid=str(hosts["disabled"].uuid)))
    assert err.value.status == 422 and err.value.details["filter"] == "HostStateAndStatus"


def test_clusters_reached_by_the_networks_and_the_avoid_list(hosts):
    spec = PlacementSpec(cpu_num=1, memory_size=GIB, cluster_uuids=[str(hosts["c1"].uuid)],
                         avoid_host_uuids=[str(hosts["h1"].uuid)])
    assert names(spec) == {"h2"}
    with pytest.raises(Unplaceable) as err:
        candidates(PlacementSpec(cpu_num=1, memory_size=GIB, cluster_uuids=[]))
    assert err.value.details["filter"] == "AttachedNetwork" and "L2" in err.value.message


def test_capacity_with_over_provisioning_and_overrides(hosts):
    # 4 CPUs x ratio 10 = 40 virtual CPUs; memory ratio 1.0
    assert names(PlacementSpec(cpu_num=40, memory_size=GIB)) == {"h1", "h2", "h3"}
    with pytest.raises(Unplaceable) as err:
        candidates(PlacementSpec(cpu_num=41, memory_size=GIB))
    assert err.value.code == "NO_HOST_AVAILABLE" and err.value.details["filter"] == "HostCapacity"
    ResourceConfig.objects.create(category="host", name="cpu.overProvisioning.ratio", resource_type="Host",
                                  resource_uuid=hosts["h3"].uuid, value=20.0)
    assert names(PlacementSpec(cpu_num=41, memory_size=GIB)) == {"h3"}   # only h3's own ratio allows it
    Host.objects.filter(pk=hosts["h3"].pk).update(reserved_memory=7 * GIB)
    with pytest.raises(Unplaceable):
        candidates(PlacementSpec(cpu_num=41, memory_size=2 * GIB))


def test_a_cluster_or_zone_override_gives_its_hosts_their_ratio(hosts):
    ResourceConfig.objects.create(category="host", name="cpu.overProvisioning.ratio", resource_type="Cluster",
                                  resource_uuid=hosts["c2"].uuid, value=20.0)
    assert names(PlacementSpec(cpu_num=41, memory_size=GIB)) == {"h3"}   # h3 is in c2
    ResourceConfig.objects.create(category="host", name="cpu.overProvisioning.ratio", resource_type="Zone",
                                  resource_uuid=hosts["z1"].uuid, value=30.0)
    assert names(PlacementSpec(cpu_num=41, memory_size=GIB)) == {"h1", "h2", "h3"}
    assert names(PlacementSpec(cpu_num=81, memory_size=GIB)) == {"h1", "h2"}   # z1's 4 x 30 = 120
    # the host's own override wins over its zone's
    ResourceConfig.objects.create(category="host", name="cpu.overProvisioning.ratio", resource_type="Host",
                                  resource_uuid=hosts["h1"].uuid, value=10.0)
    assert names(PlacementSpec(cpu_num=81, memory_size=GIB)) == {"h2"}
    assert reserve_host(PlacementSpec(cpu_num=81, memory_size=GIB)).pk == hosts["h2"].pk


def test_reserve_takes_capacity_and_skips_a_full_host(hosts):
    spec = PlacementSpec(cpu_num=30, memory_size=6 * GIB, cluster_uuid=str(hosts["c1"].uuid))
    first = reserve_host(spec)
    second = reserve_host(spec)
    assert {first.name, second.name} == {"h1", "h2"}
    with pytest.raises(Unplaceable):
        reserve_host(spec)
    h1 = Host.objects.get(name="h1")
    assert (h1.used_cpu, h1.used_memory) == (30, 6 * GIB)


def test_least_vm_and_last_host_strategies(hosts):
    account = make_account("owner").account
    for _ in range(2):
        VmInstance.objects.create(name="vm", account=account, host=hosts["h1"], cpu_num=1, memory_size=GIB,
                                  state="Running")
    VmInstance.objects.create(name="vm", account=account, host=hosts["h3"], cpu_num=1, memory_size=GIB,
                              state="Running")
    least = candidates(PlacementSpec(cpu_num=1, memory_size=GIB, strategy="LeastVmPreferredHostAllocatorStrategy"))
    assert [h.name for h in least] == ["h2", "h3", "h1"]
    for _ in range(5):
        last = candidates(PlacementSpec(cpu_num=1, memory_size=GIB, strategy="LastHostPreferredAllocatorStrategy",
                                        last_host_uuid=str(hosts["h3"].uuid)))
        assert last[0].name == "h3"


def test_random_strategy_spreads_over_every_fitting_host_and_reads_a_window_not_every_host(hosts, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.compute import allocator

    cluster = hosts["c1"]
    extra = [Host.objects.create(name=f"x{i}", cluster=cluster, hypervisor_type="Simulator", management_ip="127.0.0.1",
                                 status="Connected", state="Enabled", cpu_num=4, memory_size=8 * GIB)
             for i in range(20)]
    fitting = {"h1", "h2", "h3"} | {h.name for h in extra}
    monkeypatch.setattr(allocator, "_ID_RANGE", {"bounds": None, "read_at": 0.0})
    seen = set()
    for _ in range(200):
        found = names(PlacementSpec(cpu_num=1, memory_size=GIB))
        assert len(found) == allocator.CANDIDATES_CHECKED and found <= fitting
        seen |= found
    assert seen == fitting  # every host that fits is drawn sometimes, wrapping past the highest id
    with CaptureQueriesContext(connection) as queries:
        candidates(PlacementSpec(cpu_num=1, memory_size=GIB))
    table = f"FROM {connection.ops.quote_name('compute_host')}"
    host_reads = [q["sql"] for q in queries.captured_queries if table in q["sql"]]
    # a window of the primary key (one or two LIMITed reads), never every host sorted at random
    assert 1 <= len(host_reads) <= 2
    assert all(" LIMIT " in sql and "RAND" not in sql for sql in host_reads)


def test_random_strategy_finds_hosts_when_the_cached_id_range_is_stale(hosts, monkeypatch):
    import time

    from apps.compute import allocator

    # ids this process remembers from before the hosts were remade (a restored database, say)
    monkeypatch.setattr(allocator, "_ID_RANGE", {"bounds": (10**9, 10**9 + 10), "read_at": time.monotonic()})
    assert names(PlacementSpec(cpu_num=1, memory_size=GIB)) == {"h1", "h2", "h3"}


def test_placing_and_reserving_makes_no_model_field(hosts, monkeypatch):
    """The typed values of the allocator's and the reservations' prepared queries use shared fields
    (apps/core/prepared.py): a Django field costs ≈ 8 µs to make, and they were made per call.
    (Building a query to compile its SQL, once per shape, still makes fields: not counted.)"""
    from django.db.models import Field

    from apps.core import prepared

    spec = PlacementSpec(cpu_num=1, memory_size=GIB, cluster_uuids=[str(hosts["c1"].uuid)])
    made, compiling = [], []
    real_init, real_kept = Field.__init__, prepared._kept

    def counting_init(self, *args, **kwargs):
        if not compiling:
            made.append(type(self).__name__)
        real_init(self, *args, **kwargs)

    def kept_uncounted(key, make_compiler):  # tests compile each use (PREPARED_QUERIES_CHECK)
        compiling.append(1)
        try:
            return real_kept(key, make_compiler)
        finally:
            compiling.pop()

    monkeypatch.setattr(Field, "__init__", counting_init)
    monkeypatch.setattr(prepared, "_kept", kept_uncounted)
    host = reserve_host(spec)
    assert host.name in {"h1", "h2"} and made == []
    host.refresh_from_db()
    assert host.used_cpu == 1

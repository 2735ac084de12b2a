"""apps/core/models/querysets.py: apps write Django; core runs it through kept SQL, kept rows and
lock-conflict retries behind it."""
import ast
from pathlib import Path

import pytest
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from apps.core import prepared
from apps.core.models import ChangeLog, FastQuerySet, compiled, retry_on_lock_conflict
from apps.infra.models import Cluster, Host, Zone
from apps.network.models import IpRange, L2Network, L3Network, UsedIp, UsedIpOwner

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
FAST_PATH_MODULES = {f"apps.core.{name}" for name in ("prepared", "rowcache", "rowupdate", "dblocks", "planner")}


@pytest.fixture
def compiling_once(settings):
    """The kept SQL alone, as in production (the tests otherwise build every query again)."""
    settings.PREPARED_QUERIES_CHECK = False


def kept_shapes():
    return len(prepared._KEPT)


@pytest.fixture(autouse=True)
def still_clock(monkeypatch):
    """Kept rows stay kept however slowly a test runs (the clock of apps.core.rowcache stands still)."""
    from apps.core import rowcache

    monkeypatch.setattr(rowcache, "clock", lambda: 1000.0)


@pytest.fixture
def cluster():
    return Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")


def host(cluster, name, **fields):
    return Host.objects.create(name=name, cluster=cluster, hypervisor_type="Simulator", management_ip="10.0.0.1",
                               **fields)


def test_no_module_outside_core_imports_the_fast_path_modules():
    offenders = []
    for path in (ROOT / "apps").rglob("*.py"):
        if path.is_relative_to(ROOT / "apps/core"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            else:
                continue
            offenders += [f"{path.relative_to(ROOT)}: {name}" for name in sorted(names & FAST_PATH_MODULES)]
    assert offenders == []


def test_get_by_equal_fields_runs_kept_sql_and_answers_as_the_orm(cluster, compiling_once):
    hosts = [host(cluster, f"h{i}") for i in range(3)]
    assert Host.objects.get(uuid=str(hosts[0].uuid)) == hosts[0]   # a uuid as text, bound as the column's
    shapes = kept_shapes()
    with CaptureQueriesContext(connection) as queries:
        found = Host.objects.get(uuid=hosts[1].uuid)
    assert found == hosts[1] and found.name == "h1" and not found._state.adding
    assert len(queries) == 1 and kept_shapes() == shapes            # the same SQL, other values
    with pytest.raises(Host.DoesNotExist):
        Host.objects.get(name="nowhere")
    with pytest.raises(Host.MultipleObjectsReturned):
        Host.objects.get(cluster=cluster)                              # a model instance for a foreign key
    with_cluster = Host.objects.select_related("cluster").get(uuid=hosts[2].uuid)
    with CaptureQueriesContext(connection) as queries:
        assert with_cluster.cluster.name == "c"
    assert len(queries) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not connection.features.has_select_for_update, reason="SELECT ... FOR UPDATE (MariaDB)")
def test_get_for_update_outside_a_transaction_fails_as_the_orm_says(cluster, compiling_once):
    row = host(cluster, "h")
    with transaction.atomic():
        assert Host.objects.select_for_update().get(uuid=row.uuid) == row   # the SQL is kept now
    with pytest.raises(TransactionManagementError):
        Host.objects.select_for_update().get(uuid=row.uuid)


def test_get_of_a_filtered_queryset_or_a_related_manager_is_the_orm_s(cluster, compiling_once):
    row = host(cluster, "h")
    shapes = kept_shapes()
    assert Host.objects.filter(cluster=cluster).get(uuid=row.uuid) == row
    assert cluster.hosts.get(uuid=row.uuid) == row
    assert Host.objects.get(name__startswith="h") == row
    assert kept_shapes() == shapes


def test_a_new_resource_is_one_insert_with_its_change_log():
    with CaptureQueriesContext(connection) as queries:
        zone = Zone.objects.create(name="fresh")
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "INSERT"]   # the row, its log
    assert zone.pk and not zone._state.adding and Zone.objects.get(pk=zone.pk).name == "fresh"
    assert ChangeLog.objects.get(resource_uuid=zone.uuid).action == "create"
    other = Zone(name="saved")
    other.save()
    assert Zone.objects.get(pk=other.pk).uuid == other.uuid


def test_save_with_update_fields_writes_those_fields_only_with_the_change_log():
    zone = Zone.objects.create(name="before", description="kept")
    zone.name, zone.description = "after", "not saved"
    with CaptureQueriesContext(connection) as queries:
        zone.save(update_fields=["name", "updated_at"])
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert "description" not in update
    stored = Zone.objects.get(pk=zone.pk)
    assert (stored.name, stored.description) == ("after", "kept")
    assert ChangeLog.objects.filter(resource_uuid=zone.uuid).order_by("id").last().after["name"] == "after"
    with pytest.raises(ValueError, match="do not exist"):
        zone.save(update_fields=["no_such_field"])      # Django's own answer
    Zone.objects.filter(pk=zone.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        zone.save(update_fields=["name"])


def test_save_if_writes_only_while_the_row_holds_what_was_read():
    zone = Zone.objects.create(name="z")
    zone.description = "first"
    assert zone.save_if({"name": "z"}, update_fields=["description"]) is True
    zone.description = "second"
    assert zone.save_if({"name": "other"}, update_fields=["description"]) is False
    assert Zone.objects.get(pk=zone.pk).description == "first"


class ZoneQuerySet(FastQuerySet):
    @compiled
    def named(self, names, description=None):
        rows = self.filter(name__in=names)
        return rows if description is None else rows.filter(description=description)

    @compiled(shape=["newest_first"])
    def by_uuid(self, uuid, newest_first=False):
        return self.filter(uuid=uuid).order_by("-id" if newest_first else "id")

    @compiled
    def rename(self, pk, name):
        return self.filter(pk=pk).update(name=name)


@pytest.fixture
def zones():
    manager = ZoneQuerySet.as_manager()
    manager.model = Zone
    return manager


def test_compiled_methods_bind_each_call_s_values_to_sql_made_once_per_shape(zones, compiling_once):
    made = [Zone.objects.create(name=f"z{i}", description="d" if i else "") for i in range(3)]
    assert sorted(z.name for z in zones.named(["z0", "z1"])) == ["z0", "z1"]
    shapes = kept_shapes()
    assert [z.name for z in zones.named(["z2", "nowhere"])] == ["z2"]          # same length: same SQL
    assert kept_shapes() == shapes
    assert [z.name for z in zones.named(["z1", "z2"], description="d")] == ["z1", "z2"]  # None or not: a shape
    assert [z.name for z in zones.named(["z0"])] == ["z0"]                     # another length: a shape
    assert kept_shapes() == shapes + 2
    # a uuid given as text with dashes is bound as the uuid column binds it (hex on MariaDB/SQLite)
    assert zones.by_uuid(str(made[1].uuid)) == [made[1]]
    assert zones.by_uuid(made[2].uuid, newest_first=True) == [made[2]]
    assert zones.rename(made[0].pk, "renamed") == 1 and zones.rename(10**9, "x") == 0
    assert Zone.objects.get(pk=made[0].pk).name == "renamed"


def test_a_body_run_again_when_checking_catches_sql_that_changed_without_its_shape(zones, settings):
    settings.PREPARED_QUERIES_CHECK = True
    Zone.objects.create(name="z")
    zones.by_uuid(Zone.objects.get(name="z").uuid)
    real = ZoneQuerySet.by_uuid.fn
    try:
        ZoneQuerySet.by_uuid.fn = lambda self, uuid, newest_first: self.filter(uuid=uuid).order_by("name")
        with pytest.raises(AssertionError, match="changed shape"):
            zones.by_uuid(Zone.objects.get(name="z").uuid)
    finally:
        ZoneQuerySet.by_uuid.fn = real


def test_compiled_methods_refuse_a_filtered_queryset_or_a_related_manager(cluster):
    with pytest.raises(TypeError, match="Model.objects"):
        Host.objects.filter(name="h").take_capacity(1, 1, 1, 1.0, 1.0)
    with pytest.raises(TypeError, match="related manager"):
        cluster.hosts.take_capacity(1, 1, 1, 1.0, 1.0)


def test_a_conditional_update_counts_the_rows_it_changed(cluster):
    row = host(cluster, "h", cpu_num=4, memory_size=100)
    assert Host.objects.take_capacity(row.pk, 3, 10, cpu_room=4.0, memory_room=100.0) == 1
    assert Host.objects.take_capacity(row.pk, 3, 10, cpu_room=4.0 - 3, memory_room=90.0) == 0   # 3 + 3 > 4
    row.refresh_from_db()
    assert (row.used_cpu, row.used_memory) == (3, 10)


def test_kept_rows_are_read_again_after_a_watched_model_changes(cluster, compiling_once):
    l2 = L2Network.objects.create(name="l2", zone=cluster.zone, physical_interface="eth0")
    assert L2Network.objects.kept_cluster_ids(l2.pk) == frozenset()
    with CaptureQueriesContext(connection) as queries:
        assert L2Network.objects.kept_cluster_ids(l2.pk) == frozenset()
    assert len(queries) == 0                                   # kept
    l2.clusters.add(cluster)                                   # a link of the many-to-many table
    assert L2Network.objects.kept_cluster_ids(l2.pk) == {cluster.pk}
    Cluster.objects.create(name="another", zone=cluster.zone)
    with CaptureQueriesContext(connection) as queries:
        L2Network.objects.kept_cluster_ids(l2.pk)
    assert len(queries) == 1                                   # a cluster saved: read again


def test_kept_rows_are_dropped_only_by_the_rows_a_condition_names(cluster):
    l2 = L2Network.objects.create(name="l2", zone=cluster.zone, physical_interface="eth0")
    l3 = L3Network.objects.create(name="l3", l2_network=l2)
    ip_range = IpRange.objects.create(l3_network=l3, name="r", start_ip="10.0.0.10", end_ip="10.0.0.20",
                                      netmask="255.255.255.0", gateway="10.0.0.1", network_cidr="10.0.0.0/24",
                                      start_int=10, end_int=20)
    assert L3Network.objects.kept_with_dhcp_server(str(l3.uuid)).server_address is None
    UsedIp.objects.create(l3_network=l3, ip_range=ip_range, ip="10.0.0.11", ip_int=11,
                          owner_type=UsedIpOwner.VM_NIC)                       # a VM's address: kept
    UsedIp.objects.filter(ip_int=11).update(owner_type=UsedIpOwner.DHCP_SERVER)  # behind its back
    assert L3Network.objects.kept_with_dhcp_server(str(l3.uuid)).server_address is None
    UsedIp.objects.create(l3_network=l3, ip_range=ip_range, ip="10.0.0.10", ip_int=10,
                          owner_type=UsedIpOwner.DHCP_SERVER)                  # a DHCP server's: dropped
    assert L3Network.objects.kept_with_dhcp_server(str(l3.uuid)).server_address in ("10.0.0.10", "10.0.0.11")


def test_try_create_answers_none_for_a_refused_row_and_the_transaction_goes_on(cluster):
    l2 = L2Network.objects.create(name="l2", zone=cluster.zone, physical_interface="eth0")
    l3 = L3Network.objects.create(name="l3", l2_network=l2)
    ip_range = IpRange.objects.create(l3_network=l3, name="r", start_ip="10.0.0.10", end_ip="10.0.0.20",
                                      netmask="255.255.255.0", gateway="10.0.0.1", network_cidr="10.0.0.0/24",
                                      start_int=10, end_int=20)
    fields = {"l3_network": l3, "ip_range": ip_range, "ip": "10.0.0.12", "ip_int": 12, "owner_type": "VmNic"}
    with transaction.atomic():
        first = UsedIp.objects.try_create(**fields)
        assert first is not None and first.pk
        assert UsedIp.objects.try_create(**fields) is None
        assert UsedIp.objects.filter(ip_int=12).count() == 1          # the transaction is still usable
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            UsedIp.objects.create(**fields)


def test_a_lock_conflict_inside_a_transaction_goes_up_to_its_owner(monkeypatch):
    from apps.core import dblocks

    calls = []

    @retry_on_lock_conflict
    def deadlocking():
        calls.append(1)
        raise OperationalError(dblocks.DEADLOCK, "Deadlock found when trying to get lock")

    with transaction.atomic(), pytest.raises(OperationalError):
        deadlocking()
    assert calls == [1]   # the deadlock undid the caller's work too: not ours to do again


@pytest.mark.django_db(transaction=True)
def test_a_lock_conflict_outside_any_transaction_is_done_again(monkeypatch):
    from apps.core import dblocks

    monkeypatch.setattr(dblocks, "pause", lambda attempt: None)
    calls = []

    @retry_on_lock_conflict
    def deadlocking_twice():
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError(dblocks.DEADLOCK, "Deadlock found when trying to get lock")
        return "done"

    assert deadlocking_twice() == "done" and len(calls) == 3


def test_as_condition_is_a_subquery_that_stops_at_its_first_row(cluster):
    from django.db.models import OuterRef

    full, empty = host(cluster, "full", cpu_num=1, used_cpu=1), host(cluster, "empty", cpu_num=1)
    busy = Host.objects.filter(pk=OuterRef("pk"), used_cpu__gte=F("cpu_num"))
    rows = Host.objects.filter(busy.as_condition())
    assert list(rows) == [full] and empty not in rows
    sql = str(rows.query).upper()
    assert "EXISTS" not in sql and "IS NOT NULL" in sql and "LIMIT 1" in sql

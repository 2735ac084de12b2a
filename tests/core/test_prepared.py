"""apps/core/prepared: queries compiled once per shape, then run with new values bound."""
import pytest
from django.db import connection
from django.db.models import Count, F, IntegerField, Q
from django.test.utils import CaptureQueriesContext

from apps.core import prepared
from apps.core.prepared import Param, Params
from apps.infra.models import Cluster, Host, Zone

pytestmark = pytest.mark.django_db

UUID = Zone._meta.get_field("uuid")


@pytest.fixture
def zones():
    made = {}
    for name in ("z1", "z2"):
        zone = made[name] = Zone.objects.create(name=name)
        for index in range(2 if name == "z1" else 1):
            Cluster.objects.create(name=f"{name}-c{index}", zone=zone)
    return made


def clusters_of(zone, key=("clusters-of-zone",)):
    p = Params()
    by_zone = p("zone", zone.uuid, UUID)
    return prepared.select(Cluster, key, lambda: Cluster.objects.filter(zone__uuid=by_zone).select_related("zone")
                           .order_by("name"), p)


def test_one_shape_runs_with_each_call_s_values_and_fills_select_related(zones, settings):
    settings.PREPARED_QUERIES_CHECK = False  # the kept SQL alone, as in production
    assert [c.name for c in clusters_of(zones["z1"])] == ["z1-c0", "z1-c1"]
    with CaptureQueriesContext(connection) as queries:
        found = clusters_of(zones["z2"])
    assert [c.name for c in found] == ["z2-c0"]
    assert found[0].zone.name == "z2"            # from the same row: no query of its own
    assert len(queries) == 1
    assert found[0].pk == Cluster.objects.get(name="z2-c0").pk and found[0]._state.adding is False


def test_annotations_are_set_on_the_instances(zones):
    p = Params()
    name = p("name", "z1", Zone._meta.get_field("name"))
    found = prepared.select(Zone, ("zone-with-count",),
                            lambda: Zone.objects.filter(name=name).annotate(n=Count("clusters")), p)
    assert [(z.name, z.n) for z in found] == [("z1", 2)]


def test_a_key_that_misses_a_change_of_shape_is_caught_when_checking(zones, settings):
    settings.PREPARED_QUERIES_CHECK = True
    key = ("clusters-careless",)
    clusters_of(zones["z1"], key)
    p = Params()
    by_zone = p("zone", zones["z1"].uuid, UUID)
    with pytest.raises(AssertionError, match="changed shape"):  # same key and Params, other SQL
        prepared.select(Cluster, key, lambda: Cluster.objects.filter(zone__uuid=by_zone).order_by("-name"), p)


def test_params_made_inside_build_are_refused(zones):
    p = Params()
    with pytest.raises(ValueError, match="inside build"):
        prepared.select(Zone, ("careless",), lambda: Zone.objects.filter(name=p("name", "z1", UUID)), p)


def test_update_binds_values_and_counts_matched_rows(zones):
    cluster = Cluster.objects.create(name="c", zone=zones["z1"])
    hosts = [Host.objects.create(name=f"h{i}", cluster=cluster, cpu_num=4, used_cpu=i) for i in range(3)]

    def take(host, cpu):
        p = Params()
        pk, room, cpu = p("pk", host.pk, Host._meta.pk), p("room", 4 - cpu, IntegerField()), \
            p("cpu", cpu, IntegerField())
        return prepared.update(Host, ("take",), lambda: (Host.objects.filter(pk=pk, used_cpu__lte=room),
                                                         {"used_cpu": F("used_cpu") + cpu}), p)

    assert take(hosts[0], 3) == 1 and take(hosts[1], 3) == 1
    assert take(hosts[2], 3) == 0                      # 2 + 3 > 4: not taken
    assert [h.used_cpu for h in Host.objects.filter(pk__in=[h.pk for h in hosts]).order_by("name")] == [3, 4, 2]


def test_get_and_first_behave_as_the_orm(zones):
    z1 = zones["z1"]
    assert prepared.get(Zone, uuid=z1.uuid) == z1
    with pytest.raises(Zone.DoesNotExist):
        prepared.get(Zone, name="nowhere")
    with pytest.raises(Cluster.MultipleObjectsReturned):
        prepared.get(Cluster, zone=z1)              # a model instance for a foreign key
    first = prepared.first(Cluster, select_related=("zone",), zone_id=z1.pk)
    assert first == Cluster.objects.filter(zone=z1).order_by("pk").first() and first.zone.name == "z1"
    assert prepared.first(Cluster, zone=zones["z2"]).name == "z2-c0"
    assert prepared.first(Zone, name="nowhere") is None


def test_an_empty_in_list_matches_nothing_without_a_query(zones):
    p = Params()
    names = p.many("name", [], Zone._meta.get_field("name"))
    with CaptureQueriesContext(connection) as queries:
        assert prepared.select(Zone, ("zones-named",), lambda: Zone.objects.filter(name__in=names), p) == []
    assert len(queries) == 0


def test_a_param_in_a_plain_orm_query_is_its_value(zones):
    """The allocator explains a 422 by running its filters (Params in them) through the ORM."""
    p = Params()
    assert list(Zone.objects.filter(Q(name=p("name", "z2", Zone._meta.get_field("name"))))) == [zones["z2"]]
    assert repr(Param("x", 1, IntegerField())) == "Param('x')"
    with pytest.raises(ValueError, match="twice"):
        p("name", "z1", UUID)


def test_insert_saves_a_new_row_as_save_does_with_its_signals():
    from apps.core.models import ChangeLog

    zone = prepared.insert(Zone(name="fresh", description="d"))
    assert zone.pk is not None and not zone._state.adding and zone._state.db == "default"
    stored = Zone.objects.get(pk=zone.pk)
    assert (stored.uuid, stored.name, stored.description) == (zone.uuid, "fresh", "d")
    assert stored.created_at is not None and stored.created_at == zone.created_at  # auto_now_add, set on obj too
    # post_save went out: the change log has the create, as for Zone.objects.create
    [log] = ChangeLog.objects.filter(resource_uuid=zone.uuid)
    assert log.action == "create" and log.after["name"] == "fresh"
    zone.name = "renamed"
    zone.save()  # an UPDATE of the same row afterwards, not a second INSERT
    assert Zone.objects.filter(uuid=zone.uuid).count() == 1 and Zone.objects.get(pk=zone.pk).name == "renamed"
    with CaptureQueriesContext(connection) as queries:
        prepared.insert(Cluster(name="c", zone=zone))
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2 and "cluster" in inserts[0] and "changelog" in inserts[1]  # the row, then its log


def test_insert_of_a_duplicate_fails_like_save_and_leaves_the_transaction_to_be_undone():
    from django.db import IntegrityError, transaction

    zone = Zone.objects.create(name="one")
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            prepared.insert(Zone(uuid=zone.uuid, name="two"))
            assert False, "not reached"
    assert list(Zone.objects.values_list("name", flat=True)) == ["one"]


def test_insert_ignoring_conflicts_answers_none_for_a_refused_row_and_the_transaction_goes_on():
    from django.db import transaction

    zone = Zone.objects.create(name="one")
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            assert prepared.insert(Zone(uuid=zone.uuid, name="two"), ignore_conflicts=True) is None
            fresh = prepared.insert(Zone(name="three"), ignore_conflicts=True)
        assert fresh is not None and fresh.pk is not None and not fresh._state.adding
        assert Zone.objects.get(pk=fresh.pk).name == "three"   # the transaction is still usable
    assert sorted(Zone.objects.values_list("name", flat=True)) == ["one", "three"]
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    from apps.core.models import ChangeLog   # the refused row sent no post_save: no change log of it
    assert not ChangeLog.objects.filter(resource_uuid=zone.uuid, action="create", after__name="two").exists()


def test_save_fields_updates_the_row_as_save_with_update_fields_does():
    import time

    from django.db import DatabaseError

    from apps.core.models import ChangeLog

    zone = Zone.objects.create(name="before", description="kept")
    created_log_count = ChangeLog.objects.filter(resource_uuid=zone.uuid).count()
    updated_before = zone.updated_at
    time.sleep(0.002)
    zone.name, zone.description = "after", "not saved"
    with CaptureQueriesContext(connection) as queries:
        prepared.save_fields(zone, ["name", "updated_at"])
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "description" not in updates[0]
    stored = Zone.objects.get(pk=zone.pk)
    assert (stored.name, stored.description) == ("after", "kept")   # only the fields named
    assert stored.updated_at == zone.updated_at > updated_before    # auto_now, set on obj too
    # post_save went out with update_fields: the change log has the update
    logs = ChangeLog.objects.filter(resource_uuid=zone.uuid).order_by("id")
    assert logs.count() == created_log_count + 1 and logs.last().action == "update"
    assert logs.last().after["name"] == "after"
    Zone.objects.filter(pk=zone.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        prepared.save_fields(zone, ["name"])


def test_rows_read_again_with_the_kept_converters_are_converted_like_the_first_time():
    """The converters (datetimes, JSON, secrets) and related populators are worked out once per
    shape: the second run's rows must come out the same."""
    from django.utils import timezone

    zone = Zone.objects.create(name="z")
    cluster = Cluster.objects.create(name="c", zone=zone)
    for name in ("h1", "h2"):
        Host.objects.create(name=name, cluster=cluster, hypervisor_type="Simulator", management_ip=f"10.0.0.{name[1]}",
                            agent_secret=f"secret-{name}", facts={"cpus": int(name[1])})
    for name in ("h1", "h2"):
        host = prepared.get(Host, select_related=("cluster",), name=name)
        assert host.agent_secret == f"secret-{name}" and host.facts == {"cpus": int(name[1])}
        assert timezone.is_aware(host.created_at) and host.cluster.name == "c" and host.cluster.zone_id == zone.pk

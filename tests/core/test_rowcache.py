"""Configuration rows kept a second across jobs (apps.core.rowcache)."""
import pytest

from apps.core import rowcache
from apps.infra.models import Cluster, Zone
from apps.network.models import L2Network

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(rowcache, "clock", fake)
    return fake


def counting(value):
    calls = []

    def load():
        calls.append(1)
        return value

    return load, calls


def test_a_value_is_kept_for_the_ttl_then_read_again(clock, settings):
    settings.ROW_CACHE_SECONDS = 1.0
    load, calls = counting(frozenset({1, 2}))
    assert rowcache.get(("k",), load) == {1, 2}
    clock.now += 0.9
    assert rowcache.get(("k",), load) == {1, 2} and len(calls) == 1
    clock.now += 0.2
    assert rowcache.get(("k",), load) == {1, 2} and len(calls) == 2


def test_nothing_is_kept_with_a_ttl_of_zero(clock, settings):
    settings.ROW_CACHE_SECONDS = 0
    load, calls = counting(1)
    rowcache.get(("k",), load)
    rowcache.get(("k",), load)
    assert len(calls) == 2


def test_rows_are_handed_out_as_copies(clock):
    zone = Zone.objects.create(name="z")
    first = rowcache.get(("zone",), lambda: zone)
    first.name = "changed by one job"
    again = rowcache.get(("zone",), lambda: pytest.fail("read again"))
    assert again.name == "z" and again is not first and again.pk == zone.pk
    [one] = rowcache.get(("zones",), lambda: [zone])
    one.name = "x"
    assert rowcache.get(("zones",), lambda: pytest.fail("read again"))[0].name == "z"


def test_a_save_delete_or_link_of_a_watched_model_drops_what_was_read_from_it(clock):
    zone = Zone.objects.create(name="z")
    cluster = Cluster.objects.create(name="c", zone=zone)
    l2 = L2Network.objects.create(name="l2", zone=zone, physical_interface="eth0")
    key = ("watched", l2.pk)
    rowcache.watch(L2Network, names=["watched"], relations=[L2Network.clusters.through])
    for change in (lambda: l2.clusters.add(cluster), lambda: l2.save(), lambda: l2.clusters.remove(cluster),
                   lambda: l2.delete()):
        rowcache.get(key, lambda: 1)
        rowcache.get(("image", "x"), lambda: "kept")
        change()
        load, calls = counting(2)
        assert rowcache.get(key, load) == 2 and calls == [1], change
        assert rowcache.get(("image", "x"), lambda: pytest.fail("read again")) == "kept"   # another name
    rowcache.get(("other",), lambda: 1)
    Zone.objects.create(name="not watched")
    assert rowcache.get(("other",), lambda: pytest.fail("read again")) == 1


def test_a_watch_with_a_condition_drops_only_for_the_rows_it_names(clock):
    zone = Zone.objects.create(name="z")
    rowcache.watch(Zone, names=["named"], when=lambda row: row.name.startswith("drop"))
    rowcache.get(("named",), lambda: 1)
    Zone.objects.create(name="keep")
    assert rowcache.get(("named",), lambda: pytest.fail("read again")) == 1
    zone.name = "drop me"
    zone.save()
    assert rowcache.get(("named",), lambda: 2) == 2


def test_none_is_not_kept(clock):
    assert rowcache.get(("missing",), lambda: None) is None
    assert rowcache.get(("missing",), lambda: 1) == 1


def test_forget_drops_the_names_given_or_everything():
    rowcache.get(("a", 1), lambda: 1)
    rowcache.get(("b", 1), lambda: 1)
    rowcache.forget("a")
    assert rowcache.get(("a", 1), lambda: 2) == 2 and rowcache.get(("b", 1), lambda: 2) == 1
    rowcache.forget()
    assert rowcache.get(("b", 1), lambda: 3) == 3

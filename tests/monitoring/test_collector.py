"""The built-in store's collector: reads Connected hosts' agents with their token, computes rates
from counters kept in the database, rolls minutes and hours up and prunes what is past keeping."""
import time

import pytest

from apps.infra.models import Cluster, Host, Zone
from apps.monitoring import tasks
from apps.monitoring.collector import collect, prune, roll_up, store
from apps.monitoring.models import MetricCursor, MetricPoint
from apps.monitoring.scrape import Reading

from .conftest import HOST, VMS

V1 = list(VMS)[0]


def _host(uuid, status, secret="s3cret"):
    cluster = Cluster.objects.create(name=f"c-{uuid[-4:]}", zone=Zone.objects.create(name=f"z-{uuid[-4:]}"),
                                     hypervisor_type="Simulator")
    return Host.objects.create(uuid=uuid, name=f"h-{uuid[-4:]}", cluster=cluster, hypervisor_type="Simulator",
                               status=status, agent_secret=secret)


def test_collects_connected_hosts_with_their_token(db, fake_agent, settings):
    settings.SIM_AGENT_URL = f"http://127.0.0.1:{fake_agent.port}"
    _host(HOST, "Connected")
    _host("00000000-0000-0000-0000-0000000000ff", "Disconnected")
    first = collect()
    time.sleep(1.2)
    second = collect()
    assert first["targets"] == second["targets"] == 1       # the Disconnected host is not read
    assert second["resources"] == 1 + len(VMS)
    newest = MetricPoint.objects.filter(resolution=10, kind="vm", uuid=V1).order_by("-ts").first()
    assert newest.cpu == 80.0 and newest.memory_used == 512 * 2 ** 20
    assert newest.disk_read_bps == pytest.approx(1500.0, rel=0.05)
    host = MetricPoint.objects.get(resolution=10, kind="host", uuid=HOST, ts=newest.ts)
    assert host.memory_used_percent == 25.0 and host.load1 == 1.5


def test_an_agent_refusing_the_token_gives_nothing(db, fake_agent, caplog):
    assert collect(targets=[(fake_agent.url, "wrong")])["resources"] == 0
    assert not MetricPoint.objects.exists()
    assert "answered 401" in caplog.text


def _reading(uuid, ts, cpu, read_bytes):
    reading = Reading("vm", uuid, ts)
    reading.gauges["cpu_percent"] = cpu
    reading.counters["disk_read_bytes_total"] = read_bytes
    return reading


def test_rates_from_kept_counters_and_none_after_a_reset(db):
    t0 = 1_800_000_000
    store({("vm", V1): _reading(V1, t0, 10.0, 1000.0)}, t0)
    assert MetricPoint.objects.get(ts=t0).disk_read_bps is None        # no earlier counter: no rate
    store({("vm", V1): _reading(V1, t0 + 10, 10.0, 6000.0)}, t0 + 10)
    assert MetricPoint.objects.get(ts=t0 + 10).disk_read_bps == 500.0
    store({("vm", V1): _reading(V1, t0 + 20, 10.0, 10.0)}, t0 + 20)  # the agent restarted
    assert MetricPoint.objects.get(ts=t0 + 20).disk_read_bps is None
    assert MetricCursor.objects.get(uuid=V1).counters == {"disk_read_bytes_total": 10.0}


def test_minutes_and_hours_are_rolled_up_and_old_rows_pruned(db):
    t0 = 1_800_000_000 // 3600 * 3600
    for i in range(6 * 61):                          # a sample every 10 s for just over an hour
        ts = t0 + 10 * i
        store({("vm", V1): _reading(V1, ts, float(i % 6), 100.0 * ts)}, ts)
        roll_up(ts)
    minute = MetricPoint.objects.get(resolution=60, ts=t0)
    assert minute.cpu == pytest.approx(2.5) and minute.disk_read_bps == pytest.approx(100.0)
    assert MetricPoint.objects.filter(resolution=60).count() == 60
    hour = MetricPoint.objects.get(resolution=3600, ts=t0)
    assert hour.cpu == pytest.approx(2.5)
    prune(t0 + 6 * 61 * 10)
    oldest = MetricPoint.objects.filter(resolution=10).order_by("ts").first().ts
    assert oldest >= t0 + 6 * 61 * 10 - 3600 - 10
    assert MetricPoint.objects.filter(resolution=60).count() == 60       # a day kept
    prune(t0 + 2 * 86400)
    assert not MetricPoint.objects.filter(resolution__in=[10, 60]).exists()
    assert MetricPoint.objects.filter(resolution=3600).count() == 1
    assert not MetricCursor.objects.exists()


def test_the_task_leaves_collection_to_prometheus_when_configured(db, settings, fake_agent):
    settings.SIM_AGENT_URL = f"http://127.0.0.1:{fake_agent.port}"
    _host(HOST, "Connected")
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    assert tasks.collect_metrics() is None and not MetricPoint.objects.exists()
    settings.PROMETHEUS_URL = ""
    assert tasks.collect_metrics()["targets"] == 1
    assert tasks.collect_metrics() is None                # not due again before monitoring.sampleInterval


def test_which_rows_a_query_reads():
    from apps.monitoring.store.builtin import resolution_for, resolution_for_window

    now = 1_800_000_000
    assert [resolution_for_window(w) for w in (60, 300, 3600, 86400, 7 * 86400)] == [10, 10, 60, 60, 3600]
    assert [resolution_for(now - ago, now) for ago in (600, 3600, 7200, 86400, 10 * 86400, 90 * 86400)] == \
        [10, 10, 60, 60, 3600, 3600]


def test_a_long_list_of_resources_is_read_a_chunk_at_a_time(db, monkeypatch):
    from apps.monitoring.store import builtin

    monkeypatch.setattr(builtin, "CHUNK", 2)
    now = int(time.time()) // 10 * 10
    uuids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(5)]
    MetricPoint.objects.bulk_create(MetricPoint(kind="vm", uuid=u, resolution=10, ts=now, cpu=float(i))
                                    for i, u in enumerate(uuids))
    store = builtin.BuiltinStore()
    assert store.aggregate("vm", "cpu", uuids + ["00000000-0000-0000-0000-00000000ffff"], 60) == \
        {u: float(i) for i, u in enumerate(uuids)}
    for how in ("avg", "last"):
        assert store.top("vm", "cpu", 60, 3, uuids=uuids, how=how) == [(uuids[4], 4.0), (uuids[3], 3.0), (uuids[2], 2.0)]
        assert store.top("vm", "cpu", 60, 2, uuids=uuids, how=how, descending=False) == [(uuids[0], 0.0), (uuids[1], 1.0)]
    assert set(store.series("vm", "cpu", uuids, now - 30, now + 10, 10)) == set(uuids)

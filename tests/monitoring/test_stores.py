"""The built-in store and Prometheus answer the same queries the same way (issue 17): one test
per query, run against each store, both fed by the same contract-shaped agent exposition."""
import json
import time
import urllib.parse
import urllib.request

import pytest

from apps.core.errors import InvalidArgument
from apps.core.models import GlobalConfig
from apps.monitoring.collector import collect
from apps.monitoring.store.builtin import BuiltinStore
from apps.monitoring.store.prometheus import PrometheusStore

from .conftest import HOST, VMS

V1, V2, V3 = list(VMS)
ALL = [V1, V2, V3]


def _prometheus_has(url, seconds):
    query = urllib.parse.urlencode({"query": "count_over_time(cloudportal_vm_cpu_percent[1m])"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as r:
        result = json.loads(r.read())["data"]["result"]
    return bool(result) and min(float(item["value"][1]) for item in result) >= seconds


@pytest.fixture(params=["builtin", "prometheus"])
def store(request, db, fake_agent, prometheus_process):
    # (Prometheus, where installed, starts with the module's first test and scrapes meanwhile)
    if request.param == "builtin":
        for _ in range(2):                   # rates need two samples
            collect(targets=[(fake_agent.url, fake_agent.token)])
            time.sleep(1.1)
        return BuiltinStore()
    prometheus = request.getfixturevalue("prometheus")
    # the store sizes its rate() ranges by the sample interval: the test's Prometheus scrapes every second
    GlobalConfig.objects.update_or_create(category="monitoring", name="sampleInterval",
                                          defaults={"type": "int", "value": 1})
    # rate() under-reads the first seconds of a series (it does not extrapolate past its first sample)
    deadline = time.time() + 60
    while not _prometheus_has(prometheus.url, 20):
        assert time.time() < deadline, "Prometheus did not scrape the fake agent"
        time.sleep(0.5)
    return PrometheusStore(prometheus.url)


def test_gauge_averages(store):
    assert store.aggregate("vm", "cpu", ALL, 60) == pytest.approx({V1: 80.0, V2: 20.0, V3: 50.0})
    assert store.aggregate("host", "cpu", [HOST], 60) == pytest.approx({HOST: 40.0})
    assert store.aggregate("host", "load1", [HOST], 60, how="max") == pytest.approx({HOST: 1.5})


def test_a_resource_without_the_metric_is_absent_not_zero(store):
    # the second VM reports no memory figure (no balloon stats): it is left out
    assert store.aggregate("vm", "memory_used", ALL, 60) == pytest.approx({V1: 512 * 2 ** 20, V3: 256 * 2 ** 20})
    assert store.aggregate("vm", "cpu", [], 60) == {}


def test_memory_used_percent_of_a_host(store):
    assert store.aggregate("host", "memory_used_percent", [HOST], 60) == pytest.approx({HOST: 25.0})


@pytest.mark.parametrize("how", ["avg", "max", "min", "last"])
def test_rates_are_summed_over_devices(store, how):
    # a window clear of the series' first seconds, which Prometheus's rate() under-reads
    rates = store.aggregate("vm", "disk_read_bps", ALL, 15, how=how)
    assert rates == pytest.approx({V1: 1500.0, V2: 100.0, V3: 3000.0}, rel=0.05)
    assert store.aggregate("vm", "net_tx_pps", ALL, 15, how=how) == pytest.approx({V1: 40.0}, rel=0.05)
    assert store.aggregate("host", "disk_read_bps", [HOST], 15, how=how) == pytest.approx({HOST: 4000.0}, rel=0.05)


def test_top_n(store):
    assert [u for u, _ in store.top("vm", "cpu", 60, 2)] == [V1, V3]
    assert [u for u, _ in store.top("vm", "cpu", 60, 2, descending=False)] == [V2, V3]
    assert [u for u, _ in store.top("vm", "net_rx_bps", 60, 5)] == [V2, V1]
    top = store.top("vm", "cpu", 60, 10, uuids=[V2, V3])
    assert [u for u, _ in top] == [V3, V2] and top[0][1] == pytest.approx(50.0)


def test_series_over_a_period_with_a_step(store):
    end = int(time.time())
    answer = store.series("vm", "cpu", [V1, V2], end - 60, end, 10)
    assert set(answer) == {V1, V2}
    for uuid, expected in ((V1, 80.0), (V2, 20.0)):
        points = answer[uuid]
        assert points and all(v == pytest.approx(expected) for _, v in points)
        stamps = [ts for ts, _ in points]
        assert stamps == sorted(stamps) and all(end - 60 <= ts <= end for ts in stamps)
        # on the step grid from the start
        assert all(abs((ts - (end - 60)) / 10 - round((ts - (end - 60)) / 10)) < 1e-3 for ts in stamps)


def test_bad_arguments_are_refused(store):
    with pytest.raises(InvalidArgument, match="unknown vm metric"):
        store.aggregate("vm", "load1", ALL, 60)
    with pytest.raises(InvalidArgument, match="at most 11000"):
        store.series("vm", "cpu", ALL, 0, 86400 * 30, 1)
    with pytest.raises(InvalidArgument, match="unknown aggregation"):
        store.top("vm", "cpu", 60, 5, how="p99")

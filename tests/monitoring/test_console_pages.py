"""Monitoring in the console, through the Django client: host and VM pages with their charts (data,
no data yet, the store away), a period's figures, the performance page's top-N with a q= filter,
the dashboard's busiest hosts and VMs, each as the user's account may see them."""
import json
import re
import socket
import time

import pytest
from django.test import Client

from apps.compute.models import VmState
from apps.core.testing import make_account
from apps.monitoring.collector import roll_up
from tests.console.helpers import make_host, make_vm
from tests.ui.pages import browser, text

from .feeding import sample

pytestmark = pytest.mark.django_db


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cloud():
    """An admin, two accounts with VMs (alice: a busy one, an idle one, one without samples) on one
    host; samples of each ten seconds apart for the last two minutes, the finished minutes rolled up
    (what an hour's top-N reads), as the collector does."""
    admin, alice, bob = make_account("root", admin=True), make_account("alice"), make_account("bob")
    host = make_host("h1")
    busy = make_vm(alice.account, host, name="alice-busy")
    idle = make_vm(alice.account, host, name="alice-idle", state=VmState.STOPPED)
    bobs = make_vm(bob.account, host, name="bob-vm")
    quiet = make_vm(alice.account, host, name="alice-new")   # no sample yet
    now = time.time()
    for i, at in enumerate(now - ago for ago in range(120, -1, -10)):
        sample(at, {("host", host.uuid): {"cpu": 30.0 + i, "memory_used": 4 << 30, "memory_total": 16 << 30,
                                          "bytes": 1000 * i},
                    ("vm", busy.uuid): {"cpu": 90.0, "memory_used": 512 << 20, "bytes": 10_000 * i},
                    ("vm", idle.uuid): {"cpu": 5.0},
                    ("vm", bobs.uuid): {"cpu": 50.0}})
    roll_up(now)
    return {"admin": admin, "alice": alice, "bob": bob, "host": host, "busy": busy, "idle": idle, "bobs": bobs,
            "quiet": quiet}


def chart_config(response):
    found = re.search(r'<script id="metric-charts-config" type="application/json">(.*?)</script>', text(response),
                      re.S)
    assert found, "the page has no charts"
    return json.loads(found.group(1))


def shown(response, element_id):
    """Whether the element is on the page and not hidden."""
    found = re.search(rf'<[^>]*id="{element_id}"[^>]*>', text(response))
    return bool(found) and " hidden" not in found.group(0)


def test_a_vm_page_shows_the_hour_of_its_figures_in_charts(cloud):
    response = browser(cloud["alice"]).get(f"/ui/vm-instances/{cloud['busy'].uuid}/")
    assert response.status_code == 200
    config = chart_config(response)
    figures = config["figures"]
    assert config["kind"] == "vm" and config["uuid"] == str(cloud["busy"].uuid) and figures["period"] == "hour"
    assert figures["end"] - figures["start"] == 3600 - 10   # the steps ending in the hour
    assert 0 <= time.time() - figures["end"] < 11               # the last one ended
    cpu = figures["series"]["cpu"]
    assert len(cpu) >= 2 and all(value == pytest.approx(90.0) for _ts, value in cpu)
    assert figures["series"]["memory_used"][-1][1] == pytest.approx(512 << 20)
    # rates from the counters: 10,000 bytes read in ten seconds
    assert figures["series"]["disk_read_bps"][-1][1] == pytest.approx(1000.0, rel=0.05)
    assert figures["series"]["net_rx_bps"][-1][1] == pytest.approx(2000.0, rel=0.05)
    assert [chart["id"] for chart in config["charts"]] == ["cpu", "memory", "disk", "network"]
    page = text(response)
    assert "uplot/uPlot.iife.min.js" in page and "monitoring/charts.js" in page
    assert not shown(response, "charts-no-data") and not shown(response, "charts-error")
    # outside the part live.js swaps when the VM changes, and not in that part when fetched again
    assert page.index('id="metric-charts"') > page.index('id="live-detail"')
    again = browser(cloud["alice"]).get(f"/ui/vm-instances/{cloud['busy'].uuid}/", HTTP_X_LIVE_UPDATE="1")
    assert 'id="metric-charts"' not in text(again)


def test_a_host_page_shows_its_charts(cloud):
    response = browser(cloud["admin"]).get(f"/ui/hosts/{cloud['host'].uuid}/")
    assert response.status_code == 200
    cpu = chart_config(response)["figures"]["series"]["cpu"]
    assert [round(value) for _ts, value in cpu][-2:] == [40, 41]   # the last two steps ended


def test_a_vm_without_samples_says_no_data_yet(cloud):
    response = browser(cloud["alice"]).get(f"/ui/vm-instances/{cloud['quiet'].uuid}/")
    assert response.status_code == 200
    assert shown(response, "charts-no-data") and "No data yet." in text(response)
    assert not any(chart_config(response)["figures"]["series"].values())


def test_the_store_away_is_said_plainly_and_the_page_still_shows(cloud, settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{closed_port()}"
    response = browser(cloud["alice"]).get(f"/ui/vm-instances/{cloud['busy'].uuid}/")
    assert response.status_code == 200
    assert shown(response, "charts-error") and "The metrics store is unavailable." in text(response)
    assert "Traceback" not in text(response) and "alice-busy" in text(response)
    answer = browser(cloud["alice"]).get(f"/ui/metrics/vm/{cloud['busy'].uuid}/?period=day")
    assert answer.status_code == 503 and answer.json()["code"] == "METRICS_STORE_UNAVAILABLE"
    dashboard = browser(cloud["admin"]).get("/ui/")
    assert dashboard.status_code == 200 and shown(dashboard, "busiest-error")
    performance = browser(cloud["admin"]).get("/ui/performance/")
    assert performance.status_code == 200 and "unavailable" in text(performance)


def test_a_period_switch_reads_that_period_for_whoever_may_see_the_resource(cloud):
    # a minute that has ended, rolled up into the day's resolution as the collector does
    now = time.time()
    for at in (now - 300, now - 290):   # minutes older than the ones the fixture rolled up
        sample(at, {("vm", cloud["quiet"].uuid): {"cpu": 70.0}})
    roll_up(now - 180)
    answer = browser(cloud["alice"]).get(f"/ui/metrics/vm/{cloud['quiet'].uuid}/", {"period": "day"})
    assert answer.status_code == 200
    day = answer.json()
    assert day["period"] == "day" and day["step"] == 120 and day["end"] - day["start"] == 86400 - 120
    values = [value for _ts, value in day["series"]["cpu"]]
    assert values and all(value == pytest.approx(70.0) for value in values)
    url = f"/ui/metrics/vm/{cloud['busy'].uuid}/"
    for period in ("week", "month"):
        assert browser(cloud["alice"]).get(url, {"period": period}).status_code == 200
    assert browser(cloud["alice"]).get(url, {"period": "year"}).status_code == 400
    assert browser(cloud["bob"]).get(url).status_code == 404            # another account's VM
    assert browser(cloud["admin"]).get(url).status_code == 200
    assert browser(cloud["alice"]).get(f"/ui/metrics/host/{cloud['busy'].uuid}/").status_code == 404   # not a host
    assert browser(cloud["alice"]).get(f"/ui/metrics/disk/{cloud['busy'].uuid}/").status_code == 404
    assert Client().get(url).status_code == 302                          # to the login page


def ranking(response):
    return re.findall(r'<tr data-uuid="([0-9a-f-]+)">', text(response))


def test_the_performance_page_ranks_by_a_metric_filtered_with_q_and_tenancy(cloud):
    admin = browser(cloud["admin"])
    response = admin.get("/ui/performance/", {"kind": "vm", "metric": "cpu", "window": "3600", "n": "10"})
    assert response.status_code == 200
    assert ranking(response) == [str(cloud[name].uuid) for name in ("busy", "bobs", "idle")]
    assert "90.0 %" in text(response)
    lowest = admin.get("/ui/performance/", {"kind": "vm", "metric": "cpu", "order": "asc", "n": "5"})
    assert ranking(lowest)[0] == str(cloud["idle"].uuid)
    running = admin.get("/ui/performance/", {"kind": "vm", "metric": "cpu", "q": "state=Stopped"})
    assert ranking(running) == [str(cloud["idle"].uuid)]
    named = admin.get("/ui/performance/", {"kind": "vm", "q": "bob"})   # a plain word searches names
    assert ranking(named) == [str(cloud["bobs"].uuid)]
    # a normal account ranks its own VMs only
    mine = browser(cloud["alice"]).get("/ui/performance/", {"kind": "vm", "metric": "cpu"})
    assert ranking(mine) == [str(cloud["busy"].uuid), str(cloud["idle"].uuid)]
    hosts = admin.get("/ui/performance/", {"kind": "host", "metric": "memory_used_percent"})
    assert ranking(hosts) == [str(cloud["host"].uuid)] and "25.0 %" in text(hosts)
    bad = admin.get("/ui/performance/", {"kind": "vm", "q": "secret_field=1"})
    assert bad.status_code == 200 and 'id="performance-error"' in text(bad) and not ranking(bad)
    assert "Performance" in text(admin.get("/ui/vm-instances/"))   # in the sidebar


def test_the_dashboard_shows_the_busiest_hosts_and_vms(cloud):
    response = browser(cloud["admin"]).get("/ui/")
    page = text(response)
    hosts = page[page.index('id="busiest-hosts"'):]
    assert str(cloud["host"].uuid) in hosts[:hosts.index("</table>")]
    vms = page[page.index('id="busiest-vms"'):]
    vms = vms[:vms.index("</table>")]
    assert re.findall(r'data-uuid="([0-9a-f-]+)"', vms) == [str(cloud[n].uuid) for n in ("busy", "bobs", "idle")]
    mine = text(browser(cloud["bob"]).get("/ui/"))
    assert 'id="busiest-hosts"' not in mine   # the infrastructure's figures are the admins'
    vms = mine[mine.index('id="busiest-vms"'):]
    assert re.findall(r'data-uuid="([0-9a-f-]+)"', vms[:vms.index("</table>")]) == [str(cloud["bobs"].uuid)]


def test_a_list_page_loads_no_chart_library(cloud):
    page = text(browser(cloud["alice"]).get("/ui/vm-instances/"))
    assert "uplot" not in page.lower() and "charts.js" not in page


def test_the_monitoring_pages_in_simplified_chinese(cloud):
    client = browser(cloud["admin"])
    client.cookies["django_language"] = "zh-hans"
    page = text(client.get("/ui/performance/"))
    assert "性能分析" in page and "从高到低" in page
    config = chart_config(client.get(f"/ui/vm-instances/{cloud['busy'].uuid}/"))
    assert [chart["title"] for chart in config["charts"]] == ["CPU", "内存", "磁盘", "网络"]
    assert "最繁忙的云主机" in text(client.get("/ui/"))

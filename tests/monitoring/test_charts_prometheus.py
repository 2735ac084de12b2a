"""The console's charts, live points and top-N with Prometheus as the store (the same code as with
the built-in one): a real Prometheus scraping a contract-shaped agent exposition."""
import re
import time

import pytest

from apps.core.models import GlobalConfig
from apps.core.testing import make_account
from apps.monitoring import charts
from apps.monitoring.live import MetricsStream
from tests.console.helpers import make_host, make_vm
from tests.ui.pages import browser, text

from .conftest import HOST, VMS
from .test_console_pages import chart_config

pytestmark = pytest.mark.django_db

V1, V2, V3 = list(VMS)


@pytest.fixture
def scraped(prometheus_process, settings):
    if prometheus_process is None:
        pytest.skip("the prometheus binary is not installed (apt-get install -y prometheus)")
    settings.PROMETHEUS_URL = prometheus_process.url
    # the store sizes its rate() ranges by the sample interval: the test's Prometheus scrapes every second
    GlobalConfig.objects.update_or_create(category="monitoring", name="sampleInterval",
                                          defaults={"type": "int", "value": 1})
    alice = make_account("alice")
    host = make_host("h1", uuid=HOST)
    for uuid in (V1, V2, V3):
        make_vm(alice.account, host, name=f"vm-{uuid[-3:]}", uuid=uuid)
    deadline = time.time() + 60
    while len(charts.read("vm", V1, "hour")["series"].get("disk_read_bps") or []) < 2:   # rates need two scrapes
        assert time.time() < deadline, "Prometheus did not scrape the fake agent"
        time.sleep(0.5)
    return alice


def test_a_vm_page_charts_what_prometheus_scraped(scraped):
    config = chart_config(browser(scraped).get(f"/ui/vm-instances/{V1}/"))
    series = config["figures"]["series"]
    assert series["cpu"][-1][1] == pytest.approx(80.0)
    assert series["memory_used"][-1][1] == pytest.approx(512 * 2 ** 20)
    assert series["disk_read_bps"][-1][1] == pytest.approx(1500.0, rel=0.1)
    assert not series["disk_write_bps"]   # the agent reports no such counter: no line, not zeros
    # the day's 2-minute steps: the newest ended one may be older than this Prometheus's samples
    day = browser(scraped).get(f"/ui/metrics/vm/{V2}/", {"period": "day"})
    assert day.status_code == 200 and day.json()["step"] == 120
    assert all(value == pytest.approx(20.0) for _ts, value in day.json()["series"]["cpu"])


def test_the_live_points_come_from_prometheus_too(scraped):
    stream = MetricsStream()
    cursors = stream.start([V1, HOST])
    time.sleep(1.5)
    messages, _ = stream.read(cursors)
    by_uuid = {message["uuid"]: message for message in messages}
    assert by_uuid[V1]["points"]["cpu"][-1][1] == pytest.approx(80.0)
    assert by_uuid[HOST]["kind"] == "host" and by_uuid[HOST]["points"]["cpu"][-1][1] == pytest.approx(40.0)


def test_the_performance_page_ranks_from_prometheus(scraped):
    page = browser(scraped).get("/ui/performance/", {"kind": "vm", "metric": "cpu", "window": "900"})
    assert re.findall(r'<tr data-uuid="([0-9a-f-]+)">', text(page)) == [V1, V3, V2]

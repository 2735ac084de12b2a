"""In Chromium, a VM page's hour chart gains points without a reload (issue 17): samples written
through the built-in store's write path reach the open page over /ws/events/ ("metrics").
Skipped without Chromium or Playwright."""
import time

from apps.core.models import GlobalConfig
from apps.core.testing import make_account
from tests.console.helpers import make_host, make_vm
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium, portal  # noqa: F401  (the browser, the web server)

from .feeding import sample


def test_the_hour_chart_gains_points_without_a_reload(chromium, portal):  # noqa: F811
    GlobalConfig.objects.update_or_create(category="monitoring", name="sampleInterval",
                                          defaults={"type": "int", "value": 1})
    alice = make_account("alice")
    vm = make_vm(alice.account, make_host("h1"), name="charted")
    key = ("vm", str(vm.uuid))
    now = time.time()
    for ago in (40, 30, 20, 10, 0):
        sample(now - ago, {key: {"cpu": 20.0, "memory_used": 256 << 20, "bytes": 1000 * (50 - ago)}})

    tab = Browsing(chromium, portal, alice)
    page = tab.goto(f"/ui/vm-instances/{vm.uuid}/")
    page.wait_for_selector('body[data-live="ready"]', state="attached", timeout=20_000)
    page.wait_for_function("document.querySelector('#chart-cpu canvas')", timeout=10_000)
    assert page.is_hidden("#charts-no-data") and page.is_hidden("#charts-error")
    before = int(page.get_attribute("#chart-cpu", "data-points"))
    network = int(page.get_attribute("#chart-network", "data-points"))   # rates: from the second sample
    assert before >= 4 and network >= 3
    page.evaluate("window.notReloaded = true")

    # samples keep landing, a second apart; a new ten-second step starts a new point
    deadline, cpu, gained = time.time() + 40, 20.0, False
    while time.time() < deadline and not gained:
        cpu += 1
        sample(time.time(), {key: {"cpu": cpu, "memory_used": 256 << 20, "bytes": 1000 * (50 + cpu)}})
        page.wait_for_timeout(1000)
        gained = int(page.get_attribute("#chart-cpu", "data-points")) > before
    assert gained, "the hour chart gained no point"
    # a figure of the samples fed since the page opened is drawn
    assert 20 < float(page.get_attribute("#chart-cpu", "data-last")) <= cpu
    assert int(page.get_attribute("#chart-network", "data-points")) > network
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"

    # the day's figures on a click, and the hour's again
    page.click('#chart-periods [data-period="day"]')
    page.wait_for_function("document.querySelector('#chart-periods .active').dataset.period === 'day'")
    page.click('#chart-periods [data-period="hour"]')
    page.wait_for_function(f"Number(document.querySelector('#chart-cpu').dataset.points) > {before}",
                           timeout=5_000)
    assert tab.errors == []
    tab.close()

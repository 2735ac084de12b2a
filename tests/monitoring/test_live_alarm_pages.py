"""In Chromium, the Alarms list follows its rows without a reload: an alarm the evaluation makes
shows up on the open first page, and its later state changes (Alarm -> OK) show in its row.
Skipped without Chromium or Playwright."""
from datetime import timedelta

from django.utils import timezone

from apps.core.testing import make_account
from apps.monitoring.metric_rules import evaluate_metric_rules
from apps.monitoring.models import AlarmRule
from tests.console.helpers import make_host, make_vm
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium, portal  # noqa: F401  (the browser, the web server)

from .receivers import StoreStub

STATE = "document.querySelector('#rows tbody tr[data-live-uuid] td[data-field=state]')"


def test_the_alarm_list_shows_a_new_alarm_and_its_state_changes_without_a_reload(chromium, portal):  # noqa: F811
    alice = make_account("alice")
    vm = make_vm(alice.account, make_host("h1"), name="web-1")
    AlarmRule.objects.create(name="busy", account=alice.account, kind="metric", resource_kind="vm", metric="cpu",
                             threshold=80, window_seconds=60, duration_seconds=0)
    store, key = StoreStub(), ("vm", "cpu", str(vm.uuid))

    tab = Browsing(chromium, portal, alice)
    page = tab.goto("/ui/alarms/")
    page.wait_for_selector('#results-live[data-live-new-of="Alarm"]', state="attached")
    page.wait_for_selector('body[data-live="ready"]', state="attached", timeout=20_000)
    page.evaluate("window.notReloaded = true")

    store.values[key] = 95.0   # the beat's evaluation: the alarm is made and fires
    evaluate_metric_rules(store, now=timezone.now())
    page.wait_for_function(f"{STATE} && {STATE}.textContent.includes('Alarm')", timeout=20_000)
    assert "busy: web-1" in page.inner_text("#rows tbody")

    store.values[key] = 10.0   # and resolves
    evaluate_metric_rules(store, now=timezone.now() + timedelta(seconds=30))
    page.wait_for_function(f"{STATE}.textContent.trim() === 'OK'", timeout=20_000)
    assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
    assert page.locator("#rows tbody tr[data-live-uuid]").count() == 1
    assert tab.errors == []
    tab.close()

"""Metric rules against an injected store (the real store and the real agent come with the merge of
issue 17's other parts; the rule speaks only the store's ``aggregate``): the condition must hold for
the rule's duration, the alarm fires once, reminds only per repeat interval, and resolves."""
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.compute.models import VmInstance
from apps.monitoring.metric_rules import evaluate_metric_rules
from apps.monitoring.models import Alarm, AlarmHistory, AlarmRule, Delivery
from tests.conftest import make_account

pytestmark = pytest.mark.django_db


def _vm(account, name):
    return VmInstance.objects.create(name=name, account=account, cpu_num=1, memory_size=1 << 29, state="Running")


def _rule(client, **extra):
    body = {"name": "busy", "kind": "metric", "resource_kind": "vm", "metric": "cpu", "aggregation": "avg",
            "window_seconds": 60, "comparison": ">", "threshold": 80, "duration_seconds": 120, **extra}
    response = client.post("/api/v1/alarm-rules/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _hook(client, webhook_server):
    return client.post("/api/v1/notification-endpoints/", {"name": "hook", "type": "webhook",
                                                            "address": webhook_server.url, "secret": "k"},
                       format="json").json()["uuid"]


def test_a_threshold_rule_fires_after_its_duration_reminds_per_interval_and_resolves(
        tenant_client, tenant_user, store, webhook_server, django_capture_on_commit_callbacks):
    vm = _vm(tenant_user.account, "web-1")
    rule = _rule(tenant_client, repeat_interval=600, endpoint_uuids=[_hook(tenant_client, webhook_server)])
    t0 = timezone.now()
    key = ("vm", "cpu", str(vm.uuid))

    def tick(seconds):
        with django_capture_on_commit_callbacks(execute=True):
            evaluate_metric_rules(store, now=t0 + timedelta(seconds=seconds))

    store.values[key] = 95.0
    tick(0)
    assert store.calls[-1] == ("vm", "cpu", [str(vm.uuid)], 60, "avg")
    assert Alarm.objects.get().state == "OK"     # not yet held for 120 s
    tick(60)
    assert Alarm.objects.get().state == "OK" and not webhook_server.requests
    tick(120)
    alarm = Alarm.objects.get()
    assert alarm.state == "Alarm" and alarm.value == 95.0
    assert "cpu (avg over 60 s) is 95, > 80 for 120 s" in alarm.reason
    for seconds in range(130, 760, 10):          # still high: no storm, one reminder after 600 s
        tick(seconds)
    bodies = webhook_server.bodies()
    assert [b["event"] for b in bodies] == ["alarm.state", "alarm.reminder"]
    assert bodies[0]["value"] == 95.0 and bodies[0]["resource"]["name"] == "web-1"
    assert bodies[0]["details"]["threshold"] == 80 and bodies[0]["rule"]["uuid"] == rule["uuid"]

    store.values[key] = 20.0
    tick(770)
    assert Alarm.objects.get().state == "OK"
    tick(780)
    history = list(AlarmHistory.objects.order_by("id").values_list("from_state", "to_state", "reminder"))
    assert history == [("OK", "Alarm", False), ("Alarm", "Alarm", True), ("Alarm", "OK", False)]
    assert Delivery.objects.filter(state="sent").count() == 3


def test_a_value_that_dips_restarts_the_duration(tenant_client, tenant_user, store):
    vm = _vm(tenant_user.account, "web-1")
    _rule(tenant_client)
    t0, key = timezone.now(), ("vm", "cpu", str(vm.uuid))
    for seconds, value in [(0, 90), (60, 90), (90, 10), (120, 90), (200, 90)]:
        store.values[key] = value
        evaluate_metric_rules(store, now=t0 + timedelta(seconds=seconds))
    assert Alarm.objects.get().state == "OK"          # held 80 s since the dip
    evaluate_metric_rules(store, now=t0 + timedelta(seconds=240))
    assert Alarm.objects.get().state == "Alarm"


def test_no_data_is_not_a_value(tenant_client, tenant_user, store):
    vm = _vm(tenant_user.account, "web-1")
    _rule(tenant_client, duration_seconds=0)
    store.values[("vm", "cpu", str(vm.uuid))] = 99
    evaluate_metric_rules(store)
    store.values.clear()
    evaluate_metric_rules(store)
    assert Alarm.objects.get().state == "Alarm"   # the store's silence neither resolves nor fires


def test_a_normal_accounts_rule_sees_only_its_own_vms(tenant_client, tenant_user, admin_client, store):
    other = make_account("tenant-b")
    mine, theirs = _vm(tenant_user.account, "web-1"), _vm(other.account, "web-2")
    other_client = __import__("tests.conftest", fromlist=["client_for"]).client_for(other)
    for vm in (mine, theirs):
        store.values[("vm", "cpu", str(vm.uuid))] = 99
    # all VMs (no uuid list), a named VM of another account, and a q= filter that would match both
    _rule(tenant_client, duration_seconds=0)
    named = tenant_client.post("/api/v1/alarm-rules/", {"name": "theirs", "kind": "metric", "resource_kind": "vm",
                                                        "metric": "cpu", "threshold": 1,
                                                        "resource_uuids": [str(theirs.uuid)]}, format="json")
    assert named.status_code == 400 and "not found" in named.json()["details"]["resource_uuids"][0]
    _rule(tenant_client, name="named", duration_seconds=0, resource_uuids=[str(mine.uuid)])
    _rule(tenant_client, name="by name", duration_seconds=0, resource_filter=["name~=web-%"])
    admin_rule = _rule(admin_client, name="admin", duration_seconds=0)
    evaluate_metric_rules(store)
    watched = {(a.rule.name, a.resource_uuid) for a in Alarm.objects.select_related("rule")}
    assert watched == {("busy", mine.uuid), ("named", mine.uuid), ("by name", mine.uuid), ("admin", mine.uuid),
                       ("admin", theirs.uuid)}
    assert {a["resource_uuid"] for a in tenant_client.get("/api/v1/alarms/").json()["results"]} == {str(mine.uuid)}
    assert other_client.get("/api/v1/alarms/").json()["count"] == 0
    assert other_client.get(f"/api/v1/alarm-rules/{admin_rule['uuid']}/").status_code == 404


def test_a_store_that_fails_does_not_stop_the_other_rules(tenant_client, tenant_user, store):
    vm = _vm(tenant_user.account, "web-1")
    _rule(tenant_client, name="a", metric="disk_read_bps", duration_seconds=0, threshold=1)
    _rule(tenant_client, name="b", duration_seconds=0)
    store.values[("vm", "cpu", str(vm.uuid))] = 99
    real = store.aggregate

    def aggregate(kind, metric, *args, **kwargs):
        if metric == "disk_read_bps":
            raise ConnectionError("store down")
        return real(kind, metric, *args, **kwargs)

    store.aggregate = aggregate
    evaluate_metric_rules(store)
    assert [a.rule.name for a in Alarm.objects.select_related("rule")] == ["b"]


def test_bad_rules_are_400_naming_the_field(tenant_client):
    def bad(**body):
        body = {"name": "r", "kind": "metric", "resource_kind": "vm", "metric": "cpu", "threshold": 1, **body}
        response = tenant_client.post("/api/v1/alarm-rules/", body, format="json")
        assert response.status_code == 400, response.content
        return response.json()["details"]

    assert "metric" in bad(metric="load1")            # a host metric
    assert "threshold" in bad(threshold=None)
    assert "comparison" in bad(comparison="~")
    assert "resource_filter" in bad(resource_filter=["secret=1"])
    assert "window_seconds" in bad(window_seconds=1)
    assert "event_type" in bad(kind="event")
    assert "event_states" in bad(kind="event", event_type="vm.state_changed", event_states=["Exploded"])
    assert "event_states" in bad(kind="event", event_type="job.failed", event_states=["Running"])
    assert "resource_filter" in bad(kind="event", event_type="job.failed", resource_filter=["nonsense=1"])
    assert AlarmRule.objects.count() == 0


def test_a_vm_that_is_destroyed_does_not_stay_in_alarm(tenant_client, tenant_user, store):
    vm = _vm(tenant_user.account, "web-1")
    _rule(tenant_client, duration_seconds=0)
    store.values[("vm", "cpu", str(vm.uuid))] = 99
    evaluate_metric_rules(store)
    assert Alarm.objects.get().state == "Alarm"
    VmInstance.objects.filter(pk=vm.pk).update(state="Destroyed")
    evaluate_metric_rules(store)
    alarm = Alarm.objects.get()
    assert alarm.state == "OK" and "no longer watched" in alarm.reason
    assert len(store.calls) == 1   # nothing left to ask the store about

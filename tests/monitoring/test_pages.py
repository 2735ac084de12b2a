"""The console's monitoring pages: each list answers for a normal account with its own rows only,
and an endpoint and a schedule are made through the forms (the API's validation and tenancy)."""
import pytest
from django.test import Client

from apps.compute.models import VmInstance
from apps.core.testing import make_account
from apps.monitoring.models import AlarmRule, NotificationEndpoint, VmSchedule

pytestmark = pytest.mark.django_db
PAGES = ["alarm-rules", "alarms", "alarm-history", "notification-endpoints", "notification-deliveries",
         "vm-schedules", "vm-schedule-runs"]


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_every_monitoring_page_lists_only_the_accounts_own_rows():
    mine, theirs = make_account("tenant-a"), make_account("tenant-b")
    AlarmRule.objects.create(name="my-rule", account=mine.account, kind="event", event_type="job.failed")
    AlarmRule.objects.create(name="their-rule", account=theirs.account, kind="event", event_type="job.failed")
    client = browser(mine)
    for basename in PAGES:
        page = client.get(f"/ui/{basename}/")
        assert page.status_code == 200, (basename, page.status_code)
    listed = client.get("/ui/alarm-rules/").content.decode()
    assert "my-rule" in listed and "their-rule" not in listed


def test_endpoint_and_schedule_forms_make_rows_through_the_api():
    user = make_account("tenant-a")
    vm = VmInstance.objects.create(name="vm-1", account=user.account, cpu_num=1, memory_size=1 << 29, state="Running")
    client = browser(user)
    assert client.get("/ui/notification-endpoints/new/").status_code == 200
    made = client.post("/ui/notification-endpoints/new/", {"name": "hook", "type": "webhook",
                                                            "address": "https://hooks.example.com/a",
                                                            "secret": "k-1", "description": ""})
    assert made.status_code == 302, made.content.decode()[:2000]
    endpoint = NotificationEndpoint.objects.get()
    assert endpoint.account_id == user.account_id and endpoint.secret == "k-1"
    assert "k-1" not in client.get(f"/ui/notification-endpoints/{endpoint.uuid}/").content.decode()
    bad = client.post("/ui/vm-schedules/new/", {"name": "s", "vm_uuid": str(vm.uuid), "action": "stop",
                                                "cron": "99 * * * *", "timezone": "UTC", "description": ""})
    assert bad.status_code == 400 and not VmSchedule.objects.exists()
    made = client.post("/ui/vm-schedules/new/", {"name": "s", "vm_uuid": str(vm.uuid), "action": "stop",
                                                 "cron": "0 22 * * *", "timezone": "Asia/Shanghai", "description": ""})
    assert made.status_code == 302 and VmSchedule.objects.get().next_run_at is not None


def test_the_monitoring_pages_speak_chinese():
    client = browser(make_account("tenant-a"))
    client.cookies["django_language"] = "zh-hans"
    page = client.get("/ui/alarm-rules/").content.decode()
    assert "告警规则" in page and "监控" in page and "云主机定时任务" in page


def test_alarm_rule_form_makes_a_metric_rule_and_its_page_shows_it():
    user = make_account("tenant-a")
    client = browser(user)
    form = client.get("/ui/alarm-rules/new/")
    assert form.status_code == 200
    made = client.post("/ui/alarm-rules/new/", {
        "name": "busy", "description": "", "kind": "metric", "resource_kind": "vm", "metric": "cpu",
        "aggregation": "avg", "window_seconds": "300", "comparison": ">", "threshold": "85",
        "duration_seconds": "120", "repeat_interval": "0", "event_type": ""})
    assert made.status_code == 302, made.content.decode()[:3000]
    rule = AlarmRule.objects.get()
    assert (rule.metric, rule.threshold, rule.duration_seconds, rule.account_id) == ("cpu", 85, 120, user.account_id)
    page = client.get(f"/ui/alarm-rules/{rule.uuid}/")
    assert page.status_code == 200 and "busy" in page.content.decode()


def test_history_and_runs_link_to_their_rule_and_schedule_by_name():
    from apps.monitoring.models import Alarm, AlarmHistory, ScheduleRun

    user = make_account("tenant-a")
    rule = AlarmRule.objects.create(name="my-rule", account=user.account, kind="event", event_type="job.failed")
    alarm = Alarm.objects.create(name="my-alarm", account=user.account, rule=rule, resource_type="Job",
                                 resource_uuid=rule.uuid)
    AlarmHistory.objects.create(account=user.account, rule=rule, alarm=alarm, resource_type="Job",
                                resource_uuid=rule.uuid, to_state="Alarm", from_state="OK", reason="why")
    vm = VmInstance.objects.create(name="vm-1", account=user.account, cpu_num=1, memory_size=1 << 29, state="Running")
    schedule = VmSchedule.objects.create(name="nightly", account=user.account, vm=vm, action="stop",
                                         interval_seconds=3600)
    ScheduleRun.objects.create(account=user.account, schedule=schedule, due_at=schedule.created_at,
                               outcome="refused", message="VM is Stopped")
    client = browser(user)
    history = client.get(f"/ui/alarm-history/{AlarmHistory.objects.get().uuid}/").content.decode()
    assert f"/ui/alarm-rules/{rule.uuid}/" in history and "my-rule" in history
    runs = client.get("/ui/vm-schedule-runs/").content.decode()
    assert f"/ui/vm-schedules/{schedule.uuid}/" in runs and "nightly" in runs

"""The generated API tests (CRUD, query DSL, CSV, error shape, tenancy, 401/403, audit) for alarm
rules, notification endpoints and VM schedules, and what they must never show."""
import pytest

from apps.compute.models import VmInstance
from apps.core.testing import APIViewTestCases
from apps.monitoring.models import (Alarm, AlarmHistory, AlarmRule, NotificationEndpoint, VmSchedule)


class AlarmRuleAPITest(APIViewTestCases.APIViewTestCase):
    url, model = "/api/v1/alarm-rules/", AlarmRule
    tenant_scoped = True
    create_data = [
        {"name": "busy vm", "kind": "metric", "resource_kind": "vm", "metric": "cpu", "threshold": 90,
         "duration_seconds": 300},
        {"name": "stops", "kind": "event", "event_type": "vm.stopped_unexpectedly"},
    ]
    update_data = {"name": "renamed", "description": "changed"}

    def make_object(self, index, owner):
        return AlarmRule.objects.create(name=f"rule-{index}", account=owner.account, kind="metric",
                                        resource_kind="vm", metric="cpu", threshold=50 + index)


class NotificationEndpointAPITest(APIViewTestCases.APIViewTestCase):
    url, model = "/api/v1/notification-endpoints/", NotificationEndpoint
    tenant_scoped = True
    create_data = [
        {"name": "mail", "type": "email", "address": "a@example.com, b@example.com"},
        {"name": "hook", "type": "webhook", "address": "https://hooks.example.com/x", "secret": "s3cret"},
    ]
    update_data = {"name": "renamed", "address": "ops@example.com"}

    def make_object(self, index, owner):
        return NotificationEndpoint.objects.create(name=f"ep-{index}", account=owner.account, type="email",
                                                   address=f"ops{index}@example.com")


class VmScheduleAPITest(APIViewTestCases.APIViewTestCase):
    url, model = "/api/v1/vm-schedules/", VmSchedule
    tenant_scoped = True
    update_data = {"name": "renamed", "cron": "15 3 * * *"}

    def setUp(self):
        super().setUp()
        self.create_data = [{"name": "stop", "vm_uuid": str(self.vm.uuid), "action": "stop", "cron": "0 22 * * *",
                             "timezone": "Asia/Shanghai"}]

    def make_object(self, index, owner):
        self.vm = VmInstance.objects.filter(account=owner.account).first() or VmInstance.objects.create(
            name="vm", account=owner.account, cpu_num=1, memory_size=1 << 29, state="Running")
        return VmSchedule.objects.create(name=f"sched-{index}", account=owner.account, vm=self.vm, action="stop",
                                         interval_seconds=3600 + index)


@pytest.mark.django_db
def test_a_webhook_secret_is_encrypted_at_rest_and_never_shown(tenant_client):
    from django.db import connection

    response = tenant_client.post("/api/v1/notification-endpoints/", {
        "name": "hook", "type": "webhook", "address": "https://hooks.example.com/x", "secret": "s3cret-value"},
        format="json")
    assert response.status_code == 201 and "s3cret-value" not in response.content.decode()
    uuid = response.json()["uuid"]
    for answer in (tenant_client.get(f"/api/v1/notification-endpoints/{uuid}/"),
                   tenant_client.get("/api/v1/notification-endpoints/"),
                   tenant_client.get("/api/v1/notification-endpoints/?format=csv"),
                   tenant_client.get(f"/api/v1/change-logs/?q=resource_uuid={uuid}")):
        assert answer.status_code == 200 and "s3cret-value" not in answer.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM monitoring_notificationendpoint")
        stored = cursor.fetchone()[0]
    assert stored and "s3cret-value" not in stored
    assert NotificationEndpoint.objects.get(uuid=uuid).secret == "s3cret-value"
    bad = tenant_client.get("/api/v1/notification-endpoints/", {"q": "secret=s3cret-value"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_QUERY_FIELD"


@pytest.mark.django_db
def test_bad_endpoints_are_400_naming_the_field(tenant_client):
    for body, field in [({"type": "email", "address": "not-mail"}, "address"),
                        ({"type": "webhook", "address": "ftp://x/y", "secret": "k"}, "address"),
                        ({"type": "webhook", "address": "https://hooks.example.com/y"}, "secret"),
                        ({"type": "pigeon", "address": "x"}, "type")]:
        response = tenant_client.post("/api/v1/notification-endpoints/", {"name": "e", **body}, format="json")
        assert response.status_code == 400 and field in response.json()["details"], response.content


@pytest.mark.django_db
def test_a_rule_takes_only_endpoints_its_account_sees(tenant_client, admin_client):
    theirs = admin_client.post("/api/v1/notification-endpoints/", {"name": "m", "type": "email",
                                                                    "address": "root@example.com"},
                               format="json").json()["uuid"]
    response = tenant_client.post("/api/v1/alarm-rules/", {"name": "r", "kind": "event", "event_type": "job.failed",
                                                           "endpoint_uuids": [theirs]}, format="json")
    assert response.status_code == 400 and "endpoint_uuids" in response.json()["details"]


@pytest.mark.django_db
def test_alarms_and_history_are_read_only_and_per_account(tenant_client, tenant_user, admin_client):
    from tests.conftest import client_for, make_account

    rule = AlarmRule.objects.create(name="r", account=tenant_user.account, kind="event", event_type="job.failed")
    alarm = Alarm.objects.create(name="a", account=tenant_user.account, rule=rule, resource_type="Job",
                                 resource_uuid=rule.uuid, state="Alarm")
    AlarmHistory.objects.create(account=tenant_user.account, alarm=alarm, rule=rule, resource_type="Job",
                                resource_uuid=rule.uuid, from_state="OK", to_state="Alarm", reason="why")
    other = client_for(make_account("tenant-b"))
    assert tenant_client.get("/api/v1/alarms/").json()["count"] == 1
    assert tenant_client.get("/api/v1/alarm-history/", {"q": "to_state=Alarm"}).json()["count"] == 1
    assert other.get("/api/v1/alarms/").json()["count"] == 0
    assert other.get(f"/api/v1/alarms/{alarm.uuid}/").status_code == 404
    assert other.get(f"/api/v1/alarms/{alarm.uuid}/history/").status_code == 404
    assert tenant_client.delete(f"/api/v1/alarms/{alarm.uuid}/").status_code == 405
    assert tenant_client.post("/api/v1/alarm-history/", {}, format="json").status_code == 405

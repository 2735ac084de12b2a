"""Event rules end to end: a simulated host whose agent stops answering goes Disconnected through
the real ping tracker, the built-in rule raises its alarm, one email reaches a real SMTP server and
one signed webhook a real HTTP server; the reconnect resolves it the same way."""
import hashlib
import uuid
import hmac
import json

import pytest

from apps.compute.models import VmInstance
from apps.core import context as actx
from apps.core.models import Job
from apps.infra.models import Cluster, Host, Zone
from apps.infra.ping import ping_due_hosts
from apps.monitoring.builtin import ensure_builtin_rules
from apps.monitoring.events import scan_failed_jobs
from apps.monitoring.models import Alarm, AlarmHistory, AlarmRule, Delivery, NotificationEndpoint
from tests.infra.test_hosts import add_host, set_config

pytestmark = pytest.mark.django_db
SECRET = "webhook-key-1"


def endpoints(client, webhook_server, email="ops@example.com"):
    mail = client.post("/api/v1/notification-endpoints/", {"name": "ops mail", "type": "email",
                                                             "address": email}, format="json")
    hook = client.post("/api/v1/notification-endpoints/", {"name": "ops hook", "type": "webhook",
                                                            "address": webhook_server.url, "secret": SECRET},
                       format="json")
    assert mail.status_code == 201 and hook.status_code == 201, (mail.content, hook.content)
    assert "secret" not in hook.json() and hook.json()["has_secret"] is True
    return [mail.json()["uuid"], hook.json()["uuid"]]


def check_signature(request):
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["X-CloudPortal-Signature"], expected)


@pytest.fixture
def sim_cluster(db):
    return Cluster.objects.create(name="sim", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")


def test_a_host_whose_agent_stops_raises_the_builtin_alarm_and_its_reconnect_resolves_it(
        admin_client, sim_agent, sim_cluster, smtp_server, webhook_server, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    host_uuid = add_host(admin_client, sim_cluster, capture=capture).json()["resource"]["uuid"]
    ensure_builtin_rules()
    rule = admin_client.get("/api/v1/alarm-rules/", {"q": "builtin=host-disconnected"}).json()["results"][0]
    assert rule["event_type"] == "host.disconnected" and rule["account_uuid"] is None
    patched = admin_client.patch(f"/api/v1/alarm-rules/{rule['uuid']}/",
                                 {"endpoint_uuids": endpoints(admin_client, webhook_server)}, format="json")
    assert patched.status_code == 200, patched.content

    set_config("ping.interval", 1)
    set_config("ping.maxFailure", 2)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": host_uuid, "path": "/v1/host/ping", "mode": "fail",
                                            "count": None})
    for _ in range(4):   # two misses make it Disconnected; two more change nothing and tell nobody again
        Host.objects.update(last_ping_at=None)
        with capture(execute=True):
            ping_due_hosts()
    assert Host.objects.get(uuid=host_uuid).status == "Disconnected"

    alarm = admin_client.get("/api/v1/alarms/", {"q": [f"resource_uuid={host_uuid}"]}).json()["results"]
    assert len(alarm) == 1 and alarm[0]["state"] == "Alarm" and alarm[0]["rule_uuid"] == rule["uuid"]
    assert "Connected -> Disconnected" in alarm[0]["reason"]
    assert len(smtp_server.messages) == 1 and len(webhook_server.requests) == 1
    mail = smtp_server.messages[0]
    assert mail["to"] == ["ops@example.com"]
    assert "Alarm: Host disconnected on Host h1" in mail["message"]["Subject"]
    check_signature(webhook_server.requests[0])
    body = webhook_server.bodies()[0]
    assert body["to_state"] == "Alarm" and body["from_state"] == "OK"
    assert body["resource"] == {"type": "Host", "uuid": host_uuid, "name": "h1"}
    assert body["rule"]["uuid"] == rule["uuid"] and body["rule"]["event_type"] == "host.disconnected"

    sim_agent.admin("DELETE", "/sim/faults")
    Host.objects.update(last_ping_at=None)
    with capture(execute=True):
        assert ping_due_hosts()["reconnecting"] == 1   # auto-reconnect: a job, run inline here
    assert Host.objects.get(uuid=host_uuid).status == "Connected"
    history = admin_client.get(f"/api/v1/alarms/{alarm[0]['uuid']}/history/").json()
    assert [(h["from_state"], h["to_state"]) for h in history] == [("Alarm", "OK"), ("OK", "Alarm")]
    assert "job" in history[0]["caused_by"]   # the reconnect job made it Connected
    assert len(smtp_server.messages) == 2 and len(webhook_server.requests) == 2
    check_signature(webhook_server.requests[1])
    assert webhook_server.bodies()[1]["to_state"] == "OK"
    deliveries = admin_client.get("/api/v1/notification-deliveries/").json()
    assert deliveries["count"] == 4 and {d["state"] for d in deliveries["results"]} == {"sent"}


def test_a_muted_builtin_rule_keeps_its_history_but_tells_nobody(admin_client, webhook_server,
                                                                   django_capture_on_commit_callbacks):
    ensure_builtin_rules()
    rule = AlarmRule.objects.get(builtin="host-disconnected")
    uuids = endpoints(admin_client, webhook_server)
    admin_client.patch(f"/api/v1/alarm-rules/{rule.uuid}/", {"endpoint_uuids": uuids, "muted": True}, format="json")
    host = Host.objects.create(name="h", cluster=Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"),
                                                                        hypervisor_type="Simulator"),
                               hypervisor_type="Simulator", management_ip="127.0.0.1", status="Connected")
    with django_capture_on_commit_callbacks(execute=True):
        host.status = "Disconnected"
        host.save(update_fields=["status", "updated_at"])
    assert Alarm.objects.get(resource_uuid=host.uuid).state == "Alarm"
    assert AlarmHistory.objects.count() == 1 and not Delivery.objects.exists() and not webhook_server.requests
    response = admin_client.delete(f"/api/v1/alarm-rules/{rule.uuid}/")
    assert response.status_code == 409 and response.json()["code"] == "BUILTIN_RULE"
    assert admin_client.patch(f"/api/v1/alarm-rules/{rule.uuid}/", {"event_type": "job.failed"},
                              format="json").status_code == 400


def _vm(account, name="vm", state="Running"):
    return VmInstance.objects.create(name=name, account=account, cpu_num=1, memory_size=1 << 29, state=state)


def test_an_unexpected_stop_alarms_the_vm_owner_only_and_a_start_resolves_it(
        tenant_client, tenant_user, admin_client, webhook_server, django_capture_on_commit_callbacks):
    from tests.conftest import make_account

    other = make_account("tenant-b")
    mine, theirs = _vm(tenant_user.account, "mine"), _vm(other.account, "theirs")
    uuids = endpoints(tenant_client, webhook_server)
    rule = tenant_client.post("/api/v1/alarm-rules/", {"name": "stopped", "kind": "event",
                                                       "event_type": "vm.stopped_unexpectedly",
                                                       "endpoint_uuids": uuids}, format="json")
    assert rule.status_code == 201, rule.content
    for vm in (mine, theirs):   # the hypervisor reports both stopped: no job of the portal's behind it
        with django_capture_on_commit_callbacks(execute=True):
            vm.state = "Stopped"
            vm.save(update_fields=["state", "updated_at"])
    alarms = tenant_client.get("/api/v1/alarms/").json()["results"]
    assert [(a["resource_uuid"], a["state"]) for a in alarms] == [(str(mine.uuid), "Alarm")]
    assert [b["resource"]["uuid"] for b in webhook_server.bodies()] == [str(mine.uuid)]
    assert Alarm.objects.count() == 1   # nothing raised on the other account's VM

    with actx.acting(job=uuid.uuid4()):   # a stop the portal made is no surprise
        with django_capture_on_commit_callbacks(execute=True):
            mine.state = "Running"
            mine.save(update_fields=["state", "updated_at"])
            mine.state = "Stopped"
            mine.save(update_fields=["state", "updated_at"])
    history = tenant_client.get("/api/v1/alarm-history/").json()["results"]
    assert [(h["from_state"], h["to_state"]) for h in history] == [("OK", "Alarm"), ("Alarm", "OK")]
    assert admin_client.get("/api/v1/alarm-history/").json()["count"] == 2
    assert tenant_client.get("/api/v1/alarm-history/", {"q": "resource_uuid=" + str(theirs.uuid)}).json()["count"] == 0


def test_a_failed_job_is_told_to_its_account(tenant_client, tenant_user, webhook_server,
                                              django_capture_on_commit_callbacks):
    from django.utils import timezone

    uuids = endpoints(tenant_client, webhook_server)
    assert tenant_client.post("/api/v1/alarm-rules/", {"name": "jobs", "kind": "event", "event_type": "job.failed",
                                                       "endpoint_uuids": uuids}, format="json").status_code == 201
    assert scan_failed_jobs() == 0   # the first scan only starts the cursor
    now = timezone.now()
    Job.objects.create(flow="f", action="vm-instances.stop", state="failed", account=tenant_user.account,
                       finished_at=now, error={"code": "HOST_DISCONNECTED", "message": "host h1 is Disconnected"})
    Job.objects.create(flow="f", action="vm-instances.stop", state="failed", finished_at=now)  # someone else's
    with django_capture_on_commit_callbacks(execute=True):
        assert scan_failed_jobs() == 2
    assert scan_failed_jobs() == 0
    bodies = webhook_server.bodies()
    assert len(bodies) == 1 and bodies[0]["event"] == "alarm.notice"
    assert "HOST_DISCONNECTED" in bodies[0]["caused_by"] and bodies[0]["resource"]["type"] == "Job"


def test_normal_accounts_cannot_watch_hosts(tenant_client):
    response = tenant_client.post("/api/v1/alarm-rules/", {"name": "h", "kind": "event",
                                                           "event_type": "host.disconnected"}, format="json")
    assert response.status_code == 400 and "event_type" in response.json()["details"]
    response = tenant_client.post("/api/v1/alarm-rules/", {"name": "h", "kind": "metric", "resource_kind": "host",
                                                           "metric": "cpu", "threshold": 90}, format="json")
    assert response.status_code == 400 and "resource_kind" in response.json()["details"]


def test_a_webhook_that_fails_is_retried_with_backoff_and_logged(admin_client, webhook_server,
                                                                 django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from apps.monitoring.delivery import RETRY_DELAYS, deliver_due

    ensure_builtin_rules()
    rule = AlarmRule.objects.get(builtin="host-disconnected")
    rule.endpoints.set(NotificationEndpoint.objects.filter(uuid=endpoints(admin_client, webhook_server)[1]))
    webhook_server.status = 503
    host = Host.objects.create(name="h", cluster=Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"),
                                                                        hypervisor_type="Simulator"),
                               hypervisor_type="Simulator", management_ip="127.0.0.1", status="Connected")
    with django_capture_on_commit_callbacks(execute=True):
        host.status = "Disconnected"
        host.save(update_fields=["status", "updated_at"])
    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.attempts == 1 and "HTTP 503" in delivery.last_error
    assert deliver_due() == 0   # not due yet: it waits its backoff
    webhook_server.status = 200
    later = timezone.now() + timedelta(seconds=RETRY_DELAYS[0] + 1)
    assert deliver_due(now=later) == 1
    delivery.refresh_from_db()
    assert delivery.state == "sent" and [e["ok"] for e in delivery.log] == [False, True]
    assert len(webhook_server.requests) == 2
    assert webhook_server.requests[0]["body"] == webhook_server.requests[1]["body"]
    log = admin_client.get(f"/api/v1/notification-deliveries/{delivery.uuid}/").json()
    assert log["attempts"] == 2 and log["log"][0]["status"] == 503
    assert json.loads(webhook_server.requests[1]["body"])["to_state"] == "Alarm"


def test_primary_storage_is_disconnected_when_no_host_of_its_clusters_is_connected(
        admin_client, django_capture_on_commit_callbacks):
    from apps.storage.models import PrimaryStorage

    zone = Zone.objects.create(name="z")
    cluster = Cluster.objects.create(name="c", zone=zone, hypervisor_type="Simulator")
    ps = PrimaryStorage.objects.create(name="local", url="/ps", zone=zone)
    ps.clusters.add(cluster)
    hosts = [Host.objects.create(name=f"h{i}", cluster=cluster, hypervisor_type="Simulator",
                                 management_ip=f"127.0.0.{i + 1}", status="Connected") for i in range(2)]

    def set_status(host, status):
        with django_capture_on_commit_callbacks(execute=True):
            host.status = status
            host.save(update_fields=["status", "updated_at"])

    set_status(hosts[0], "Disconnected")
    assert not Alarm.objects.filter(resource_uuid=ps.uuid).exists()     # h1 still reaches it
    set_status(hosts[1], "Disconnected")
    alarm = Alarm.objects.get(resource_uuid=ps.uuid)
    assert alarm.state == "Alarm" and alarm.rule.builtin == "primary-storage-disconnected"
    assert "no Connected host reaches it" in AlarmHistory.objects.get(alarm=alarm).caused_by
    set_status(hosts[0], "Connected")
    alarm.refresh_from_db()
    assert alarm.state == "OK"
    assert [a["state"] for a in admin_client.get("/api/v1/alarms/", {"q": "resource_type=PrimaryStorage"})
            .json()["results"]] == ["OK"]


def test_a_backup_storage_whose_check_fails_raises_its_alarm_and_the_next_good_check_resolves_it(
        admin_client, tmp_path, django_capture_on_commit_callbacks):
    import shutil

    from apps.storage.models import BackupStorage

    path = tmp_path / "bs"
    bs = admin_client.post("/api/v1/backup-storage/", {"name": "bs", "type": "ImageStore", "url": str(path)},
                           format="json").json()
    shutil.rmtree(path)
    path.write_text("not a directory any more")
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/api/v1/backup-storage/{bs['uuid']}/reconnect/").json()["status"] == "Disconnected"
    alarm = Alarm.objects.get(resource_uuid=bs["uuid"])
    assert alarm.state == "Alarm" and alarm.rule.builtin == "backup-storage-disconnected"
    assert "request" in AlarmHistory.objects.get(alarm=alarm).caused_by   # the API call that found it
    path.unlink()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/api/v1/backup-storage/{bs['uuid']}/reconnect/").json()["status"] == "Connected"
    alarm.refresh_from_db()
    assert alarm.state == "OK" and BackupStorage.objects.get(uuid=bs["uuid"]).status == "Connected"


def test_a_state_rule_tells_only_the_states_it_names_and_its_filter_chooses_the_vms(
        tenant_client, tenant_user, webhook_server, django_capture_on_commit_callbacks):
    web, db = _vm(tenant_user.account, "web-1"), _vm(tenant_user.account, "db-1")
    response = tenant_client.post("/api/v1/alarm-rules/", {
        "name": "paused web", "kind": "event", "event_type": "vm.state_changed", "event_states": ["Paused"],
        "resource_filter": ["name~=web-%"], "endpoint_uuids": endpoints(tenant_client, webhook_server)[1:]},
        format="json")
    assert response.status_code == 201, response.content
    for vm in (web, db):
        for state in ("Paused", "Running"):
            with django_capture_on_commit_callbacks(execute=True):
                vm.state = state
                vm.save(update_fields=["state", "updated_at"])
    assert [(b["resource"]["name"], b["details"]["after"]) for b in webhook_server.bodies()] == [("web-1", "Paused")]


def test_a_mail_server_that_is_down_is_a_plain_error_in_the_delivery_log(admin_client, settings,
                                                                          django_capture_on_commit_callbacks):
    from tests.monitoring.receivers import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()   # nothing listens there
    ensure_builtin_rules()
    mail = admin_client.post("/api/v1/notification-endpoints/", {"name": "m", "type": "email",
                                                                  "address": "ops@example.com"}, format="json")
    AlarmRule.objects.get(builtin="host-disconnected").endpoints.set(
        NotificationEndpoint.objects.filter(uuid=mail.json()["uuid"]))
    host = Host.objects.create(name="h", cluster=Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"),
                                                                        hypervisor_type="Simulator"),
                               hypervisor_type="Simulator", management_ip="127.0.0.1", status="Connected")
    with django_capture_on_commit_callbacks(execute=True):
        host.status = "Disconnected"
        host.save(update_fields=["status", "updated_at"])
    delivery = admin_client.get("/api/v1/notification-deliveries/").json()["results"][0]
    assert delivery["state"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_error"] == "cannot reach the mail server: Connection refused"
    assert delivery["log"][0]["error"] == delivery["last_error"]


def test_a_normal_accounts_webhook_may_not_reach_the_portals_own_networks_unless_allowed(
        tenant_client, tenant_user, admin_client, webhook_server, django_capture_on_commit_callbacks):
    from tests.monitoring.receivers import allow_private_webhooks

    allow_private_webhooks(False)
    vm = _vm(tenant_user.account, "vm-1")
    for client in (tenant_client, admin_client):
        assert client.post("/api/v1/alarm-rules/", {"name": "changes", "kind": "event", "event_type": "vm.state_changed",
                                                    "endpoint_uuids": endpoints(client, webhook_server)[1:]},
                           format="json").status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        vm.state = "Paused"
        vm.save(update_fields=["state", "updated_at"])
    assert len(webhook_server.requests) == 1    # the admin's
    refused = tenant_client.get("/api/v1/notification-deliveries/").json()["results"]
    assert [d["state"] for d in refused] == ["failed"]   # not retried
    assert refused[0]["last_error"].startswith("the endpoint's address 127.0.0.1 is on the portal's own networks")


def test_a_name_that_resolves_elsewhere_after_the_check_still_does_not_reach_the_portals_networks(
        tenant_client, tenant_user, webhook_server, monkeypatch, django_capture_on_commit_callbacks):
    """DNS rebinding: the name's first answer is a public address, the connection's a private one."""
    import socket

    from tests.monitoring.receivers import allow_private_webhooks

    allow_private_webhooks(False)
    real_getaddrinfo, answers = socket.getaddrinfo, []

    def rebinding(host, *args, **kwargs):
        if host == "hooks.example.com":
            answers.append(host)
            if len(answers) == 1:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]
            host = "127.0.0.1"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = webhook_server.url.split(":")[2].split("/")[0]
    hook = tenant_client.post("/api/v1/notification-endpoints/", {
        "name": "rebinding", "type": "webhook", "address": f"http://hooks.example.com:{port}/hook",
        "secret": "s3cret-for-signing"}, format="json")
    assert hook.status_code == 201, hook.content
    assert tenant_client.post("/api/v1/alarm-rules/", {"name": "changes", "kind": "event", "event_type": "vm.state_changed",
                                                       "endpoint_uuids": [hook.json()["uuid"]]},
                              format="json").status_code == 201
    vm = _vm(tenant_user.account, "vm-1")
    with django_capture_on_commit_callbacks(execute=True):
        vm.state = "Paused"
        vm.save(update_fields=["state", "updated_at"])
    assert len(answers) >= 2 and webhook_server.requests == []
    [refused] = tenant_client.get("/api/v1/notification-deliveries/").json()["results"]
    assert refused["state"] == "failed"
    assert refused["last_error"].startswith("the endpoint's address 127.0.0.1 is on the portal's own networks")


def test_a_webhook_answering_a_redirect_is_a_failed_attempt_not_followed(
        admin_client, webhook_server, django_capture_on_commit_callbacks):
    from tests.monitoring.receivers import WebhookReceiver

    elsewhere = WebhookReceiver()
    elsewhere.thread.start()
    try:
        webhook_server.status, webhook_server.headers = 302, {"Location": elsewhere.url}
        hook = admin_client.post("/api/v1/notification-endpoints/", {
            "name": "moved", "type": "webhook", "address": webhook_server.url,
            "secret": "s3cret-for-signing"}, format="json").json()
        ensure_builtin_rules()
        AlarmRule.objects.get(builtin="host-disconnected").endpoints.set(
            NotificationEndpoint.objects.filter(uuid=hook["uuid"]))
        host = Host.objects.create(name="h", cluster=Cluster.objects.create(
            name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator"),
            hypervisor_type="Simulator", management_ip="127.0.0.1", status="Connected")
        with django_capture_on_commit_callbacks(execute=True):
            host.status = "Disconnected"
            host.save(update_fields=["status", "updated_at"])
        assert len(webhook_server.requests) == 1 and elsewhere.requests == []
        [delivery] = admin_client.get("/api/v1/notification-deliveries/").json()["results"]
        assert delivery["state"] == "pending" and delivery["last_error"].startswith("HTTP 302")
    finally:
        elsewhere.server.shutdown()
        elsewhere.server.server_close()


def test_old_history_and_schedule_runs_are_pruned_but_alarms_keep_their_state(admin_client):
    from datetime import timedelta

    from django.utils import timezone

    from apps.monitoring.tasks import prune_history

    ensure_builtin_rules()
    rule = AlarmRule.objects.get(builtin="host-disconnected")
    alarm = Alarm.objects.create(name="a", rule=rule, resource_type="Host", resource_uuid=rule.uuid, state="Alarm")
    old, new = (AlarmHistory.objects.create(rule=rule, alarm=alarm, resource_type="Host", resource_uuid=rule.uuid,
                                            from_state="OK", to_state="Alarm", reason=r) for r in ("old", "new"))
    AlarmHistory.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    assert prune_history() == 1
    assert list(AlarmHistory.objects.values_list("reason", flat=True)) == ["new"]
    assert Alarm.objects.get(pk=alarm.pk).state == "Alarm"


def test_the_hypervisor_reporting_a_running_vm_stopped_raises_its_alarm_and_a_portal_stop_does_not(
        admin_client, sim_agent, tmp_path, webhook_server, django_capture_on_commit_callbacks):
    from apps.compute.vm_sync import apply_reported_state
    from tests.compute.vm_env import Env

    env = Env(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=1)
    vm_uuid, _ = env.create()
    host = Host.objects.get(uuid=env.vm(vm_uuid)["host_uuid"])
    assert admin_client.post("/api/v1/alarm-rules/", {"name": "stops", "kind": "event",
                                                      "event_type": "vm.stopped_unexpectedly",
                                                      "endpoint_uuids": endpoints(admin_client, webhook_server)[1:]},
                             format="json").status_code == 201
    with django_capture_on_commit_callbacks(execute=True):   # what the agent's vm.state event does
        assert apply_reported_state(host, vm_uuid, "Stopped")
    alarm = Alarm.objects.get(resource_uuid=vm_uuid)
    assert alarm.state == "Alarm" and "Running -> Stopped" in alarm.reason
    assert env.action(vm_uuid, "start")["state"] == "succeeded"
    alarm.refresh_from_db()
    assert alarm.state == "OK"
    assert env.action(vm_uuid, "stop")["state"] == "succeeded"   # the portal's own stop: no alarm
    alarm.refresh_from_db()
    assert alarm.state == "OK"
    assert [b["to_state"] for b in webhook_server.bodies()] == ["Alarm", "OK"]

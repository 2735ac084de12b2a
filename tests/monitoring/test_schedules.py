"""Scheduled VM operations on simulated VMs: a due schedule runs a real stop (or start) job through
the VM's own flow, records the run, moves to its next time in its time zone, and goes with its VM."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.compute.models import VmInstance
from apps.monitoring.models import ScheduleRun, VmSchedule
from apps.monitoring.scheduling import next_run, run_due_schedules
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=1)


def make_due(uuid):
    VmSchedule.objects.filter(uuid=uuid).update(next_run_at=timezone.now() - timedelta(seconds=1))


def run_due(env):
    with env.capture(execute=True):
        return run_due_schedules()


def test_a_cron_schedule_stops_the_vm_as_an_ordinary_job_and_a_deleted_vm_takes_its_schedules(env):
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    response = env.client.post("/api/v1/vm-schedules/", {
        "name": "nightly stop", "vm_uuid": vm_uuid, "action": "stop", "cron": "0 22 * * *",
        "timezone": "Asia/Shanghai"}, format="json")
    assert response.status_code == 201, response.content
    schedule = response.json()
    due = datetime.fromisoformat(schedule["next_run_at"].replace("Z", "+00:00"))
    assert due.astimezone(ZoneInfo("Asia/Shanghai")).hour == 22 and due > timezone.now()

    make_due(schedule["uuid"])
    [run] = run_due(env)
    assert run.outcome == "started"
    job = env.client.get(f"/api/v1/jobs/{run.job_uuid}/").json()
    assert (job["state"], job["action"], job["resource_uuid"]) == ("succeeded", "stop-vm", vm_uuid), job
    assert env.vm(vm_uuid)["state"] == "Stopped" and env.domains(host) == {vm_uuid: "Stopped"}
    after = env.client.get(f"/api/v1/vm-schedules/{schedule['uuid']}/").json()
    assert after["last_run_at"] and after["next_run_at"] == schedule["next_run_at"]   # the same 22:00: not yet
    assert datetime.fromisoformat(after["next_run_at"].replace("Z", "+00:00")) > timezone.now()
    assert run_due(env) == []          # not due again until tomorrow 22:00

    make_due(schedule["uuid"])         # due again while the VM is already Stopped: refused, recorded
    [refused] = run_due(env)
    assert refused.outcome == "refused" and "Stopped" in refused.message
    runs = env.client.get(f"/api/v1/vm-schedules/{schedule['uuid']}/runs/").json()
    assert [(r["outcome"], r["job_uuid"]) for r in runs] == [("refused", None), ("started", str(run.job_uuid))]

    start = env.client.post("/api/v1/vm-schedules/", {"name": "hourly start", "vm_uuid": vm_uuid, "action": "start",
                                                      "interval_seconds": 3600}, format="json").json()
    make_due(start["uuid"])
    assert [r.outcome for r in run_due(env)] == ["started"] and env.vm(vm_uuid)["state"] == "Running"

    env.job("delete", f"/api/v1/vm-instances/{vm_uuid}/")      # to the recycle bin: the schedule waits, refused
    make_due(start["uuid"])
    assert [r.outcome for r in run_due(env)] == ["refused"]
    assert env.action(vm_uuid, "expunge")["state"] == "succeeded"
    assert not VmInstance.objects.filter(uuid=vm_uuid).exists()
    assert not VmSchedule.objects.exists() and not ScheduleRun.objects.exists()
    assert env.client.get(f"/api/v1/vm-schedules/{schedule['uuid']}/").status_code == 404


def test_next_run_reads_cron_in_the_schedules_time_zone_across_daylight_saving():
    # 02:30 every day in New York: the spring-forward night has no 02:30, so it runs as the clock
    # jumps (03:00 EDT); the day after it is 02:30 EDT again
    after = datetime(2026, 3, 7, 12, 0, tzinfo=dt_timezone.utc)
    assert next_run("30 2 * * *", None, "America/New_York", after) == datetime(2026, 3, 8, 7, 0, tzinfo=dt_timezone.utc)
    assert next_run("30 2 * * *", None, "America/New_York", after + timedelta(days=1)) == datetime(
        2026, 3, 9, 6, 30, tzinfo=dt_timezone.utc)
    summer = next_run("30 2 * * *", None, "America/New_York", datetime(2026, 6, 1, tzinfo=dt_timezone.utc))
    assert summer == datetime(2026, 6, 1, 6, 30, tzinfo=dt_timezone.utc)   # EDT is UTC-4
    assert next_run("", 600, "UTC", after) == after + timedelta(seconds=600)


def test_bad_schedules_are_400_naming_the_field(tenant_client, tenant_user, admin_client):
    from tests.conftest import make_account

    vm = VmInstance.objects.create(name="vm", account=tenant_user.account, cpu_num=1, memory_size=1 << 29,
                                   state="Running")
    other = VmInstance.objects.create(name="other", account=make_account("tenant-b").account, cpu_num=1,
                                      memory_size=1 << 29, state="Running")

    def post(**body):
        return tenant_client.post("/api/v1/vm-schedules/", {"name": "s", "vm_uuid": str(vm.uuid), "action": "stop",
                                                            **body}, format="json")

    for body, field in [({"cron": "61 * * * *"}, "cron"), ({"cron": "bad"}, "cron"), ({}, "cron"),
                        ({"cron": "0 1 * * *", "interval_seconds": 600}, "cron"),
                        ({"interval_seconds": 5}, "interval_seconds"),
                        ({"cron": "0 1 * * *", "timezone": "Mars/Base"}, "timezone"),
                        ({"cron": "0 1 * * *", "action": "explode"}, "action"),
                        ({"cron": "0 1 * * *", "vm_uuid": str(other.uuid)}, "vm_uuid")]:
        response = post(**body)
        assert response.status_code == 400 and field in response.json()["details"], (body, response.content)
    ok = post(cron="0 1 * * 1-5", timezone="Europe/Berlin")
    assert ok.status_code == 201 and ok.json()["account_uuid"] == str(tenant_user.account.uuid)
    # the owner sees it, another account does not; an admin's schedule on the tenant's VM is the tenant's
    assert tenant_client.get("/api/v1/vm-schedules/").json()["count"] == 1
    by_admin = admin_client.post("/api/v1/vm-schedules/", {"name": "a", "vm_uuid": str(vm.uuid), "action": "reboot",
                                                           "interval_seconds": 3600}, format="json")
    assert by_admin.status_code == 201 and by_admin.json()["account_uuid"] == str(tenant_user.account.uuid)
    disabled = tenant_client.post(f"/api/v1/vm-schedules/{ok.json()['uuid']}/disable/")
    assert disabled.status_code == 200 and disabled.json()["state"] == "Disabled"
    VmSchedule.objects.update(next_run_at=timezone.now() - timedelta(seconds=1))
    assert [r.schedule.name for r in run_due_schedules()] == ["a"]   # the disabled one does not run


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_runs_a_due_schedule_on_real_workers(admin_client, sim_agent, tmp_path):
    """What beat does: it sends the run_schedules task; a real worker takes it and starts the stop
    job, which a worker runs on the simulated host."""
    from django.conf import settings

    from cloudportal.celery import app as celery_app
    from tests.hostagent.conftest import ADMIN_TOKEN
    from tests.workers import Workers, wait_for

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"apps.monitoring.tasks.run_schedules", "apps.monitoring.tasks.evaluate_alarms",
            "apps.monitoring.tasks.deliver_notifications", "apps.monitoring.tasks.prune_history"} <= names
    env = Env(admin_client, None, tmp_path, hosts=1)       # made in-process (eager jobs)
    vm_uuid, _ = env.create()
    schedule = env.client.post("/api/v1/vm-schedules/", {"name": "stop", "vm_uuid": vm_uuid, "action": "stop",
                                                         "interval_seconds": 3600}, format="json").json()
    make_due(schedule["uuid"])
    workers = Workers(count=2, include=(), env={"SIM_AGENT_URL": sim_agent.url, "SIM_AGENT_TOKEN": ADMIN_TOKEN})
    workers.start()
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = False, workers.queue
    try:
        celery_app.send_task("apps.monitoring.tasks.run_schedules", queue=workers.queue)
        wait_for(lambda: VmInstance.objects.get(uuid=vm_uuid).state == "Stopped", timeout=60,
                 message="VM stopped", describe=workers.logs)
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        workers.stop()
    run = ScheduleRun.objects.get()
    assert run.outcome == "started" and env.domains(env.vm(vm_uuid)["last_host_uuid"]) == {vm_uuid: "Stopped"}

"""The engine with real Celery worker processes: kill -9, reaper, cancel, 409."""
import multiprocessing
import signal
import time

import pytest
from django.db import connection, connections

from apps.core.errors import ResourceBusy
from apps.core.flows import reap_jobs, start_job
from apps.core.models import GlobalConfig, Job
from apps.infra.models import Cluster, Zone
from tests.conftest import client_for, make_account
from tests.workers import wait_for

from . import flows_for_tests as flows

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def job_state(job):
    return Job.objects.get(pk=job.pk)


def _describe(job):
    return {"state": job.state, "worker": job.worker, "lease_expires_at": job.lease_expires_at,
            "steps": job.steps, "error": job.error}


def set_lease(seconds):
    GlobalConfig.objects.update_or_create(
        category="job", name="lease.seconds", defaults={"type": "float", "value": seconds, "default_value": 60})


def test_a_flow_runs_on_a_real_worker(celery_workers):
    job = start_job(flows.FIVE_STEPS, args={})
    done = wait_for(lambda: job_state(job).state == "succeeded" and job_state(job), message="job to succeed")
    assert [s["state"] for s in done.steps] == ["succeeded"] * 5
    assert any(str(pid) in done.worker for pid in celery_workers.pids())
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 5


def test_worker_killed_mid_flow_is_rolled_back_by_the_reaper(celery_workers):
    set_lease(2)
    zone = Zone.objects.create(name="target")
    job = start_job(flows.KILLABLE, resource=zone, args={"wait_seconds": 120})
    running = wait_for(lambda: (j := job_state(job)).steps[1]["state"] == "running" and j, message="step 1 running")
    assert Zone.objects.filter(name=f"{job.uuid}-0").exists()  # step 0's trace
    pid = next(pid for pid in celery_workers.pids() if f":{pid}:" in running.worker)
    celery_workers.kill(pid, signal.SIGKILL)

    assert reap_jobs() == []  # lease not yet expired: nothing to reap
    time.sleep(2.5)
    assert reap_jobs() == [job.uuid]

    reaped = job_state(job)
    assert reaped.state == "failed"
    assert reaped.error["code"] == "WORKER_LOST"
    assert reaped.error["step"] == "WaitForCancelOrRelease"
    assert str(pid) in reaped.error["details"]["worker"]
    assert [s["state"] for s in reaped.steps] == ["rolled_back", "running", "pending"]
    assert reaped.steps[1]["rollback"] == "none"
    assert not Zone.objects.filter(name=f"{job.uuid}-0").exists()
    zone.refresh_from_db()
    assert zone.busy_job is None
    assert reap_jobs() == []  # reaped once


def test_reaper_leaves_a_slow_job_on_a_live_worker_alone(celery_workers):
    set_lease(1)
    job = start_job(flows.HOLD, args={"sleep": 3})
    wait_for(lambda: job_state(job).state == "running", message="job to start")
    for _ in range(5):  # the heartbeat keeps renewing the lease
        time.sleep(0.6)
        assert reap_jobs() == []
    wait_for(lambda: job_state(job).state == "succeeded", message="job to succeed",
             describe=lambda: _describe(job_state(job)))


def test_cancel_a_running_job_on_a_real_worker(celery_workers):
    job = start_job(flows.CANCELLABLE, args={"wait_seconds": 60})
    wait_for(lambda: job_state(job).steps[1]["state"] == "running", message="step 1 running")
    admin = make_account("canceller", admin=True)
    response = client_for(admin).post(f"/api/v1/jobs/{job.uuid}/cancel/")
    assert response.status_code == 202, response.content
    done = wait_for(lambda: (j := job_state(job)).state == "cancelled" and j, message="job cancelled")
    assert [s["state"] for s in done.steps] == ["rolled_back", "succeeded", "pending"]
    assert not Zone.objects.filter(name=f"{job.uuid}-0").exists()
    assert not Zone.objects.filter(name=f"{job.uuid}-2").exists()


def _contend(zone_pk, barrier, results):
    connections.close_all()
    barrier.wait()
    try:
        job = start_job(flows.HOLD, resource=Zone.objects.get(pk=zone_pk), args={"sleep": 0.5})
        results.put(("started", str(job.uuid)))
    except ResourceBusy as exc:
        results.put((exc.status, exc.details["job_uuid"]))
    finally:
        connections.close_all()


def test_two_concurrent_operations_on_one_resource_exactly_one_runs(celery_workers):
    zone = Zone.objects.create(name="contended")
    ctx = multiprocessing.get_context("fork")
    for _ in range(5):
        barrier, results = ctx.Barrier(2), ctx.Queue()
        connections.close_all()
        procs = [ctx.Process(target=_contend, args=(zone.pk, barrier, results)) for _ in range(2)]
        for proc in procs:
            proc.start()
        outcomes = sorted((results.get(timeout=30) for _ in procs), key=lambda o: str(o[0]))
        for proc in procs:
            proc.join(timeout=10)
        assert [o[0] for o in outcomes] == [409, "started"], outcomes
        assert outcomes[0][1] == outcomes[1][1]  # the 409 names the running job
        job = Job.objects.get(uuid=outcomes[1][1])
        wait_for(lambda: job_state(job).state == "succeeded", message="the winner to finish")
        zone.refresh_from_db()
        assert zone.busy_job is None
    assert Job.objects.filter(resource_uuid=zone.uuid).count() == 5


def test_zone_delete_through_the_api_cascades_on_a_real_worker(celery_workers):
    admin = make_account("ops", admin=True)
    client = client_for(admin)
    zone = client.post("/api/v1/zones/", {"name": "z1"}, format="json").json()
    for name in ("c1", "c2"):
        assert client.post("/api/v1/clusters/", {"name": name, "zone_uuid": zone["uuid"],
                                                 "hypervisor_type": "KVM"}, format="json").status_code == 201
    response = client.delete(f"/api/v1/zones/{zone['uuid']}/")
    assert response.status_code == 202
    assert response["Location"] == f"/api/v1/jobs/{response.json()['job']['uuid']}/"
    job_uuid = response.json()["job"]["uuid"]
    assert client.delete(f"/api/v1/zones/{zone['uuid']}/").status_code in (409, 404)
    done = wait_for(lambda: (j := client.get(f"/api/v1/jobs/{job_uuid}/").json())["state"] in
                    ("succeeded", "failed") and j, message="delete job")
    assert done["state"] == "succeeded", done
    assert not Zone.objects.filter(uuid=zone["uuid"]).exists()
    assert Cluster.objects.count() == 0
    assert len(done["result"]["deleted"]) == 3


def test_a_job_that_hangs_past_its_deadline_is_reaped_even_with_a_live_worker(celery_workers):
    set_lease(1)
    job = start_job(flows.HANGS, args={"sleep": 4})
    wait_for(lambda: job_state(job).state == "running", message="job to start")
    wait_for(lambda: reap_jobs() == [job.uuid], timeout=10, interval=0.3, message="the reaper to take the job")
    reaped = job_state(job)
    assert reaped.state == "failed"
    assert reaped.error["code"] == "JOB_TIMEOUT"
    # the worker wakes up later, finds the job taken over, and leaves it as the reaper left it
    time.sleep(4)
    after = job_state(job)
    assert after.state == "failed" and after.error == reaped.error and after.steps == reaped.steps


def test_the_reaper_runs_on_beat_as_a_celery_task(celery_workers):
    from django.conf import settings

    from apps.core.flows.tasks import reap_jobs as reap_task

    entry = settings.CELERY_BEAT_SCHEDULE["reap-dead-jobs"]
    assert entry["task"] == reap_task.name and entry["schedule"] <= 60
    set_lease(1)
    zone = Zone.objects.create(name="orphan")
    job = start_job(flows.KILLABLE, resource=zone, args={"wait_seconds": 120})
    running = wait_for(lambda: (j := job_state(job)).steps[1]["state"] == "running" and j, message="step 1 running")
    pid = next(pid for pid in celery_workers.pids() if f":{pid}:" in running.worker)
    celery_workers.kill(pid, signal.SIGKILL)
    time.sleep(1.5)
    reap_task.apply_async(queue=celery_workers.queue)  # what beat sends; the surviving worker runs it
    done = wait_for(lambda: (j := job_state(job)).state == "failed" and j, message="the reaper task")
    assert done.error["code"] == "WORKER_LOST"
    zone.refresh_from_db()
    assert zone.busy_job is None


@pytest.mark.skipif(connection.vendor != "mysql", reason="counts MariaDB connections (DATABASE_URL=mysql://)")
def test_a_worker_keeps_its_database_connection_from_one_job_to_the_next(celery_workers):
    """Celery 5.7's Django fix-up closed it after every task: one MariaDB connection made per job."""
    def made():
        with connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
            return int(cursor.fetchone()[1])

    def run_jobs(count):
        for _ in range(count):
            job = start_job(flows.FIVE_STEPS, args={})
            wait_for(lambda: job_state(job).state == "succeeded", message="job to succeed")

    run_jobs(4)  # each worker (and its lease thread) connected
    before = made()
    run_jobs(20)
    assert made() - before <= 2   # not one per job (other tests' or services' sessions may add one)

"""The flow engine in-process on the real database: order, rollback, cancel, retries, and when the
job is written (step kinds, runner.py)."""
import json

import pytest

from apps.core.errors import ResourceBusy
from apps.core.flows import execute_job, reap_jobs, request_cancel, start_job
from apps.core.models import Job
from apps.infra.models import Zone

from . import flows_for_tests as flows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_journal():
    flows.JOURNAL.clear()
    yield
    flows.JOURNAL.clear()


def run(flow, **args):
    job = start_job(flow, args=args)
    return execute_job(job.uuid)


def test_all_steps_succeed_in_order():
    job = run(flows.FIVE_STEPS)
    assert job.state == "succeeded"
    assert job.progress == 100
    assert flows.JOURNAL == [("run", i) for i in range(5)]
    assert [s["state"] for s in job.steps] == ["succeeded"] * 5
    assert all(s["duration_ms"] >= 0 and s["started_at"] and s["finished_at"] for s in job.steps)
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 5


@pytest.mark.parametrize("fail_at", range(5))
def test_failure_at_each_step_rolls_back_exactly_the_completed_steps_in_reverse(fail_at):
    job = run(flows.FIVE_STEPS, fail_at=fail_at)
    assert job.state == "failed"
    completed = list(range(fail_at))
    # the failed step is rolled back first (whatever part of it ran), then the completed ones
    assert flows.JOURNAL == [("run", i) for i in completed] + [("rollback", i) for i in reversed(completed + [fail_at])]
    states = [s["state"] for s in job.steps]
    assert states == ["rolled_back"] * fail_at + ["failed"] + ["pending"] * (4 - fail_at)
    assert job.steps[fail_at]["rollback"] == "done" and all("rollback" not in s for s in job.steps[fail_at + 1:])
    assert job.error["code"] == "INJECTED_FAILURE"
    assert job.error["step"] == f"step{fail_at}"
    assert job.error["details"] == {"index": fail_at}
    assert "failed on purpose" in job.error["message"]
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0
    assert job.finished_at is not None


def test_failing_rollback_is_recorded_and_the_rest_still_roll_back():
    job = run(flows.FIVE_STEPS, fail_at=4, rollback_fail_at=[2])
    assert job.state == "failed"
    assert flows.JOURNAL[-5:] == [("rollback", 4), ("rollback", 3), ("rollback", 2), ("rollback", 1), ("rollback", 0)]
    assert [s["state"] for s in job.steps] == [
        "rolled_back", "rolled_back", "rollback_failed", "rolled_back", "failed"]
    # a rollback's unexpected exception is logged, and the job says which step in a sentence
    message = (f"step step2 could not be rolled back on an unexpected error; the portal's log has the details "
               f"(job {job.uuid})")
    assert job.steps[2]["rollback_error"] == {"code": "INTERNAL_ERROR", "message": message}
    assert job.error["code"] == "INJECTED_FAILURE"
    assert job.error["details"]["rollback_failures"] == [{"step": "step2", "code": "INTERNAL_ERROR", "message": message}]
    # the step whose rollback failed keeps its trace; the others are gone
    names = set(Zone.objects.filter(name__startswith=str(job.uuid)).values_list("name", flat=True))
    assert names == {f"{job.uuid}-2"}


def test_cancel_requested_before_the_first_step_runs_nothing():
    job = start_job(flows.CANCELLABLE, args={"wait_seconds": 5})
    # a worker claimed it (pending -> running) just as the cancel arrived
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    job = execute_job(job.uuid)
    assert job.state == "cancelled"
    assert job.error["code"] == "JOB_CANCELLED"
    assert flows.JOURNAL == []
    assert [s["state"] for s in job.steps] == ["pending"] * 3


def test_cancel_after_a_step_rolls_back_in_reverse():
    """The cancel is seen at the next job write: WaitForCancelOrRelease records that it waited."""
    job = start_job(flows.CANCELLABLE, args={"wait_seconds": 5})
    zone_release = Zone.objects.create(name=f"release-{job.uuid}")

    original = flows.WaitForCancelOrRelease.run

    def run_then_cancel(self, ctx):
        original(self, ctx)
        Job.objects.filter(pk=ctx.job.pk).update(cancel_requested=True)

    flows.WaitForCancelOrRelease.run = run_then_cancel
    try:
        job = execute_job(job.uuid)
    finally:
        flows.WaitForCancelOrRelease.run = original
    zone_release.delete()
    assert job.state == "cancelled"
    assert flows.JOURNAL == [("run", 0), ("rollback", 0)]
    assert [s["state"] for s in job.steps] == ["rolled_back", "succeeded", "pending"]
    assert job.steps[1].get("rollback") == "none"
    assert job.error["step"] == "step2"


def test_cancel_of_a_pending_job_is_immediate_and_frees_the_resource():
    zone = Zone.objects.create(name="z")
    job = start_job(flows.HOLD, resource=zone)
    zone.refresh_from_db()
    assert zone.busy_job == job.uuid
    job = request_cancel(job)
    assert job.state == "cancelled"
    zone.refresh_from_db()
    assert zone.busy_job is None
    # a cancelled job is never run afterwards (duplicate delivery is a no-op)
    assert execute_job(job.uuid).state == "cancelled"


def test_step_retry_is_idempotent():
    job = run(flows.RETRYING, zone_name="made-once")
    assert job.state == "succeeded"
    assert job.steps[0]["attempts"] == 2
    assert Zone.objects.filter(name="made-once").count() == 1
    assert job.result == {"zone_uuid": str(Zone.objects.get(name="made-once").uuid)}


def test_a_job_delivered_twice_runs_once():
    job = start_job(flows.FIVE_STEPS, args={})
    first = execute_job(job.uuid)
    second = execute_job(job.uuid)
    assert first.state == second.state == "succeeded"
    assert flows.JOURNAL == [("run", i) for i in range(5)]


def test_second_operation_on_a_busy_resource_gets_409_naming_the_running_job():
    zone = Zone.objects.create(name="z")
    first = start_job(flows.HOLD, resource=zone)
    with pytest.raises(ResourceBusy) as caught:
        start_job(flows.HOLD, resource=Zone.objects.get(pk=zone.pk))
    assert caught.value.status == 409
    assert caught.value.details["job_uuid"] == str(first.uuid)
    assert Job.objects.count() == 1
    execute_job(first.uuid)
    zone.refresh_from_db()
    assert zone.busy_job is None  # released when the job ended
    start_job(flows.HOLD, resource=zone)  # and can be taken again


def test_resource_is_released_after_a_failed_job():
    zone = Zone.objects.create(name="z")
    job = start_job(flows.FIVE_STEPS, resource=zone, args={"fail_at": 1})
    execute_job(job.uuid)
    zone.refresh_from_db()
    assert zone.busy_job is None


def test_unknown_flow_fails_the_job_with_a_clear_error():
    job = start_job(flows.NOOP)
    Job.objects.filter(pk=job.pk).update(flow="no-such-flow")
    job = execute_job(job.uuid)
    assert job.state == "failed"
    assert job.error["code"] == "UNKNOWN_FLOW"


def test_an_unexpected_exception_fails_the_job_with_a_sentence_and_is_logged_with_its_traceback(caplog):
    job = start_job(flows.RETRYING, args={})  # zone_name missing -> KeyError inside the step
    job = execute_job(job.uuid)
    assert job.state == "failed"
    assert job.error["code"] == "INTERNAL_ERROR"
    assert job.error["message"] == (f"step CreateOnceThenFailOnce failed on an unexpected error; "
                                    f"the portal's log has the details (job {job.uuid})")
    assert "KeyError" not in json.dumps(job.error) and "KeyError" not in json.dumps(job.steps)
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
    assert job.error["step"] == "CreateOnceThenFailOnce"
    assert job.steps[0]["attempts"] == 3  # 1 + retries


def test_a_fast_job_claims_and_starts_its_first_step_in_one_write_and_sends_few_events(monkeypatch):
    """The claim UPDATE records step 0 as running; a job whose steps take milliseconds sends its
    state changes (running, succeeded), not one event per step write."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.core.flows import progress

    job = start_job(flows.FIVE_STEPS)
    sent = []
    monkeypatch.setattr(progress, "publish_job", lambda job: sent.append((job.state, job.progress)))
    with CaptureQueriesContext(connection) as queries:
        job = execute_job(job.uuid)
    assert job.state == "succeeded"
    job_updates = [q["sql"] for q in queries.captured_queries
                   if q["sql"].startswith("UPDATE") and "core_job" in q["sql"].split("SET")[0]]
    claim = job_updates[0]
    assert "`steps`" in claim.replace('"', "`").split("WHERE")[0]  # the claim carries step 0's start
    assert len(job_updates) == 1 + 4 + 1  # claim, four step transitions, finish
    assert [state for state, _ in sent] == ["running", "succeeded"]
    assert sent[-1][1] == 100


# --- database steps ----------------------------------------------------------------------------------


def _job_writes(queries):
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "core_job" in q["sql"]]


def test_consecutive_database_steps_are_recorded_with_one_job_write():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = start_job(flows.MIXED)
    with CaptureQueriesContext(connection) as queries:
        job = execute_job(job.uuid)
    assert job.state == "succeeded" and job.progress == 100
    assert [s["state"] for s in job.steps] == ["succeeded"] * 5
    assert all(s["started_at"] and s["finished_at"] and s["attempts"] == 1 for s in job.steps)
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 5
    # the claim, the end of steps 0-2 (starting 3), the end of 3 (starting 4), the end of 4 with the job's
    assert len(_job_writes(queries.captured_queries)) == 4


def test_a_failure_inside_a_transaction_undoes_the_earlier_steps_of_it_and_their_rollbacks_see_no_change():
    job = run(flows.MIXED, fail_at=2)
    assert job.state == "failed" and job.error["code"] == "INJECTED_FAILURE"
    assert [s["state"] for s in job.steps] == ["rolled_back", "rolled_back", "failed", "pending", "pending"]
    # the transaction took steps 0 and 1 back; their rollbacks still ran, on the context from before
    assert flows.JOURNAL == [("run", 0), ("run", 1), ("run", 2),
                             ("rollback", 2, None), ("rollback", 1, None), ("rollback", 0, None)]
    assert job.steps[2]["rollback"] == "done"
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0
    assert "zone0" not in job.context and "zone1" not in job.context


def test_a_failure_after_a_transaction_rolls_its_steps_back_as_usual():
    job = run(flows.MIXED, fail_at=4)
    assert job.state == "failed"
    assert [s["state"] for s in job.steps] == ["rolled_back"] * 4 + ["failed"]
    # step 4's transaction was undone: its rollback sees nothing of it
    assert [e for e in flows.JOURNAL if e[0] == "rollback"] == [
        ("rollback", 4, None), ("rollback", 3), ("rollback", 2, job.context.get("zone2") or ANY_UUID),
        ("rollback", 1, ANY_UUID), ("rollback", 0, ANY_UUID)]
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0


class _AnyUuid:
    def __eq__(self, other):
        return isinstance(other, str) and len(other) == 36


ANY_UUID = _AnyUuid()


def test_a_worker_dying_inside_a_transaction_leaves_nothing_and_the_reaper_finishes_the_job():
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import reap_jobs

    job = start_job(flows.MIXED, args={"die_at": 1})
    with pytest.raises(flows.WorkerDied):
        execute_job(job.uuid)
    job.refresh_from_db()
    assert job.state == "running"
    assert [s["state"] for s in job.steps] == ["running", "pending", "pending", "pending", "pending"]
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0  # step 0's zone went with it
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reap_jobs() == [job.uuid]
    job.refresh_from_db()
    assert job.state == "failed" and job.error["code"] == "WORKER_LOST"
    assert flows.JOURNAL[-1] == ("rollback", 0, None)


def test_a_cancel_seen_at_the_end_of_a_transaction_undoes_it_and_rolls_its_steps_back(monkeypatch):
    from apps.core.flows.runner import JobRunner

    real_save = JobRunner.save

    def cancel_while_steps_0_to_2_run(self, *args, **kwargs):
        if kwargs.get("stop_on_cancel") and self.job.steps[3]["state"] == "running":
            Job.objects.filter(pk=self.job.pk).update(cancel_requested=True)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(JobRunner, "save", cancel_while_steps_0_to_2_run)
    job = run(flows.MIXED)
    assert job.state == "cancelled" and job.error["code"] == "JOB_CANCELLED"
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0
    assert [s["state"] for s in job.steps] == ["rolled_back"] * 3 + ["pending", "pending"]
    assert flows.JOURNAL == [("run", 0), ("run", 1), ("run", 2),
                             ("rollback", 2, None), ("rollback", 1, None), ("rollback", 0, None)]


def test_a_database_step_cannot_retry_and_every_step_has_a_kind():
    from apps.core.flows import DbStep, Flow, Step

    class Retrying(DbStep):
        retries = 1

    with pytest.raises(ValueError, match="cannot retry"):
        Flow("test-bad-transactional", [Retrying])

    class Kindless(Step):
        pass

    with pytest.raises(ValueError, match="a DbStep or a RemoteStep"):
        Flow("test-kindless", [Kindless])


@pytest.mark.django_db(transaction=True)
def test_the_lease_keeper_renews_a_long_job_while_short_ones_come_and_go():
    import time
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows.leases import LeaseKeeper

    job = start_job(flows.NOOP)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(state="running", worker="w-long", lease_expires_at=now)
    keeper = LeaseKeeper.get()
    keeper.keep(job.pk, "w-long", 0.6, now + timedelta(seconds=30))
    try:
        for i in range(20):  # a short job every 50 ms wakes the keeper each time
            keeper.keep(-i - 1, "w-short", 0.6, now + timedelta(seconds=30))
            time.sleep(0.05)
            keeper.drop(-i - 1)
        renewed = Job.objects.get(pk=job.pk).lease_expires_at
        assert renewed > now + timedelta(seconds=0.6)
        Job.objects.filter(pk=job.pk).update(state="succeeded")  # finished: the keeper lets it go
        time.sleep(0.5)
        assert job.pk not in keeper.jobs
    finally:
        keeper.drop(job.pk)


def test_changes_undone_with_a_database_run_are_never_announced(monkeypatch, django_capture_on_commit_callbacks):
    import apps.core.events as events

    sent = []
    monkeypatch.setattr(events, "publish", lambda groups, payload: sent.append(payload))
    with django_capture_on_commit_callbacks(execute=True):
        job = run(flows.MIXED, fail_at=2)
    assert job.state == "failed"
    created = [p for p in sent if p.get("type") == "resource" and p["action"] == "create"]
    assert created == []  # zones 0-2 were made and undone in the run's transaction
    with django_capture_on_commit_callbacks(execute=True):
        job = run(flows.MIXED)
    assert len([p for p in sent if p.get("type") == "resource" and p["action"] == "create"]) == 5


def test_a_worker_that_cannot_reach_the_database_before_the_claim_retries_and_the_job_runs(monkeypatch):
    from django.db import OperationalError

    from apps.core.flows import tasks, worker

    job = start_job(flows.FIVE_STEPS)
    real_update_row = worker.update_row
    failures = []

    def too_many_connections_once(model, where, values):
        if values.get("state") == "running" and not failures:
            failures.append(where)
            raise OperationalError(1040, "Too many connections")
        return real_update_row(model, where, values)

    monkeypatch.setattr(worker, "update_row", too_many_connections_once)
    monkeypatch.setattr(tasks.connections, "close_all", lambda: None)  # keep the test's transaction
    result = tasks.run_job.apply(args=[str(job.uuid)])  # eager: the retry runs at once
    assert failures and result.successful()
    job.refresh_from_db()
    assert job.state == "succeeded"
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 5  # ran once, completely


# --- fewer job writes -------------------------------------------------------------------------------


def test_the_end_of_a_remote_step_that_put_nothing_in_the_context_is_written_with_the_next_transaction():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = start_job(flows.ENDS_WITH_NEXT)
    with CaptureQueriesContext(connection) as queries:
        job = execute_job(job.uuid)
    assert job.state == "succeeded"
    assert [s["state"] for s in job.steps] == ["succeeded"] * 3
    assert all(s["started_at"] and s["finished_at"] for s in job.steps)
    # the claim (step 0 started), then the end of steps 0-2 with the job's: no write of its own for step 0
    assert len(_job_writes(queries.captured_queries)) == 2
    job.refresh_from_db()
    assert [s["state"] for s in job.steps] == ["succeeded"] * 3


def test_a_worker_dying_before_that_transaction_commits_leaves_the_step_interrupted_and_the_reaper_undoes_it():
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import reap_jobs

    job = start_job(flows.ENDS_WITH_NEXT, args={"die_at": 2})
    with pytest.raises(flows.WorkerDied):
        execute_job(job.uuid)
    job.refresh_from_db()
    assert [s["state"] for s in job.steps] == ["running", "pending", "pending"]
    assert "zone0" not in job.context  # never written: the rollback must not need it
    assert Zone.objects.filter(name=f"{job.uuid}-0").exists()  # step 0 made its zone (outside the transaction)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reap_jobs() == [job.uuid]
    job.refresh_from_db()
    assert job.state == "failed" and job.error["code"] == "WORKER_LOST" and job.error["step"] == "step0"
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0


def test_a_failure_in_that_transaction_records_the_step_and_rolls_it_back():
    job = run(flows.ENDS_WITH_NEXT, fail_at=2)
    assert job.state == "failed"
    assert [s["state"] for s in job.steps] == ["rolled_back", "rolled_back", "failed"]
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0


def test_remote_steps_that_put_nothing_in_the_context_wait_for_a_later_write():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = start_job(flows.UNRECORDED)
    with CaptureQueriesContext(connection) as queries:
        job = execute_job(job.uuid)
    assert job.state == "succeeded" and [s["state"] for s in job.steps] == ["succeeded"] * 4
    # the claim, step 0's end (its context) with step 1's start, then the transaction of step 3
    assert len(_job_writes(queries.captured_queries)) == 3


@pytest.mark.parametrize("die_after", [1, 2])
def test_the_reaper_rolls_back_the_unrecorded_steps_after_the_interrupted_one(die_after):
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import reap_jobs

    job = start_job(flows.UNRECORDED, args={"die_after": die_after})
    with pytest.raises(flows.WorkerDied):
        execute_job(job.uuid)
    job.refresh_from_db()
    assert [s["state"] for s in job.steps] == ["succeeded", "running", "pending", "pending"]
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == die_after + 1
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reap_jobs() == [job.uuid]
    job.refresh_from_db()
    assert job.state == "failed" and job.error["step"] == "step1"
    # steps 1 and 2 (whatever ran of them) undone, in reverse; the database step 3 never ran.
    # Step 2 may not have run either (no write says so): undone, yet not said to be rolled back
    assert [s["state"] for s in job.steps] == ["rolled_back", "rolled_back", "pending", "pending"]
    assert job.steps[2]["rollback"] == "precautionary" and "rollback" not in job.steps[3]
    assert Zone.objects.filter(name__startswith=str(job.uuid)).count() == 0


def test_the_context_is_written_only_when_it_changed():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = start_job(flows.SLEEPS, args={"sleep": 0})
    with CaptureQueriesContext(connection) as queries:
        job = execute_job(job.uuid)
    assert job.state == "succeeded" and job.result == {"zone_uuid": None}
    writes = [sql.replace('"', "`").split("WHERE")[0] for sql in _job_writes(queries.captured_queries)]
    # claim, the database step's transaction (the Sleep put nothing in the context), the end (result)
    assert ["`context`" in sql for sql in writes] == [False, False, True]
    job.refresh_from_db()
    assert job.context == {"result": {"zone_uuid": None}}


# --- what a remote step sets inside a transaction of its own ----------------------------------------


def test_a_key_set_in_a_transaction_of_the_step_is_written_in_it_and_the_reaper_rolls_it_back():
    from datetime import timedelta

    from django.utils import timezone

    job = start_job(flows.COUNTS, args={"die_after": "count"})
    with pytest.raises(flows.WorkerDied):
        execute_job(job.uuid)
    job.refresh_from_db()
    counted = job.context["counted"]  # no write after the step: the transaction's own carried it
    assert Zone.objects.filter(uuid=counted).exists() and job.steps[0]["state"] == "running"
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reap_jobs() == [job.uuid]
    assert flows.JOURNAL == [("rollback", "count", counted)]
    assert not Zone.objects.filter(uuid=counted).exists()


def test_a_key_set_in_a_transaction_that_was_undone_is_taken_back_and_the_context_written_again():
    job = run(flows.COUNTS, remember="kept", fail_in_transaction=True)
    assert job.state == "failed" and job.steps[0]["rollback"] == "done"
    # the failed step's rollback does not see the key its undone transaction set
    assert flows.JOURNAL == [("rollback", "count", None)]
    job.refresh_from_db()
    # the write in that transaction went with it; the failure's write carries the context again
    assert job.context.get("remembered") == "kept" and "counted" not in job.context


# --- a remote step's record ------------------------------------------------------------------------


def test_a_remote_steps_record_goes_in_the_transaction_of_the_database_steps_after_it():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = start_job(flows.RECORDED)
    with CaptureQueriesContext(connection) as queries:
        job = execute_job(job.uuid)
    assert job.state == "succeeded" and [s["state"] for s in job.steps] == ["succeeded"] * 2
    assert Zone.objects.filter(name=f"{job.uuid}-recorded").exists()
    # the claim, then one transaction: the record, step 1 and the job's end
    assert len(_job_writes(queries.captured_queries)) == 2


def test_a_failure_after_a_record_undoes_it_and_rolls_the_remote_step_back():
    job = run(flows.RECORDED, fail_at=1)
    assert job.state == "failed" and [s["state"] for s in job.steps] == ["rolled_back", "failed"]
    assert ("rollback", "made") in flows.JOURNAL
    assert not Zone.objects.filter(name__startswith=str(job.uuid)).exists()


def test_a_record_with_no_database_step_after_it_has_a_transaction_of_its_own():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = start_job(flows.RECORDED_ALONE)
    with CaptureQueriesContext(connection) as queries:
        job = execute_job(job.uuid)
    assert job.state == "succeeded" and Zone.objects.filter(name=f"{job.uuid}-recorded").exists()
    # the claim, the record with the job write that starts step 1, the job's end
    assert len(_job_writes(queries.captured_queries)) == 3


def test_a_remote_step_reports_its_progress_on_the_job_and_stops_once_the_job_is_taken_over():
    job = run(flows.REPORTS_PROGRESS)
    assert flows.JOURNAL == [("row", 40, {"bytes_done": 4, "bytes_total": 8})]
    assert job.state == "succeeded" and job.progress == 100

    flows.JOURNAL.clear()
    job = run(flows.REPORTS_PROGRESS, lose_lease=True)
    assert Job.objects.get(pk=job.pk).progress == 40  # the report after the take-over wrote nothing

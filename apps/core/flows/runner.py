"""The runner: one job's steps in order, their records, the flow context's persistence, rollback
in reverse on a failure or a cancel (``JobRunner``), and ``execute_job``, which claims a job and
runs it in this process (what the Celery task calls)."""
import json
import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from .. import context as actx
from .. import prepared
from ..errors import CloudPortalError, NotFound
from ..events import publish_job
from ..globalconfig.defaults import JOB_LEASE_SECONDS
from ..models import Job, JobState, resource_model
from ..rowupdate import Encoded, update_row
from .context import RELEASED, Context
from .leases import LeaseKeeper
from .steps import FLOWS

log = logging.getLogger(__name__)

EVENT_MIN_INTERVAL = 0.25  # seconds between two progress events of one job (state changes always go)


class DatabaseUnavailable(Exception):
    """The database could not be reached before the job was claimed: the job is untouched (still
    pending) and the delivery should be tried again later (the Celery task retries)."""


class _Undo(Exception):
    """Leaves a transactional segment's ``atomic`` block so that its changes are undone."""


class LeaseLost(Exception):
    """This process no longer owns the job (the reaper took it over)."""


def _now():
    return timezone.now()


def _iso(dt):
    return dt.isoformat() if dt else None


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _error_dict(exc, step_name=None, job_uuid=None, doing="failed"):
    """A job's error for ``exc``: a CloudPortalError says its code and sentence; anything else is
    a bug whose text (an exception repr, perhaps model instances or paths) stays in the log."""
    if isinstance(exc, CloudPortalError):
        err = exc.as_dict()
    else:
        where = f"step {step_name}" if step_name else "the job"
        err = {"code": "INTERNAL_ERROR",
               "message": f"{where} {doing} on an unexpected error; the portal's log has the details"
                          + (f" (job {job_uuid})" if job_uuid else ""),
               "details": {}}
    if step_name:
        err["step"] = step_name
    return err


def release_claim(job):
    """End ``job``'s claim on its resource (``busy_job``)."""
    if job.resource_uuid and job.resource_type:
        model = resource_model(job.resource_type)
        if model is not None:
            model.release_busy(job.resource_uuid, job.uuid)



class JobRunner:
    def __init__(self, job, worker):
        self.job = job
        self.worker = worker
        self.flow = FLOWS.get(job.flow)
        self.ctx = Context(job)
        object.__setattr__(self.ctx, "_checkpoint", lambda: self.save(publish=False))
        self.first_step_claimed = False  # execute_job recorded step 0 as running with the claim
        self._context_saved = None  # the context text the job's row holds (None: not known)
        self._published = (None, 0.0)  # (state, monotonic time) of the last event sent

    # persistence ------------------------------------------------------------------
    def save(self, publish=True, stop_on_cancel=False, **fields):
        """Persist progress in one UPDATE, fenced by ownership: a worker whose job
        the reaper took over gets LeaseLost instead of overwriting the rollback.

        With ``stop_on_cancel`` the write also checks for a cancel request and
        returns False (writing nothing) when there is one, so checking for
        cancellation between steps costs no extra query.
        """
        fields.setdefault("steps", self.job.steps)
        context = self.ctx.encoded()  # made once, and written only when it changed
        values = dict(fields, context=Encoded(context)) if context != self._context_saved else fields
        owned = {"id": self.job.pk, "worker": self.worker}
        if not update_row(Job, {**owned, "cancel_requested": False} if stop_on_cancel else owned, values):
            if stop_on_cancel and Job.objects.filter(**owned, cancel_requested=True).exists():
                return False
            raise LeaseLost(str(self.job.uuid))
        for key, value in fields.items():
            setattr(self.job, key, value)
        if values is not fields:
            self.job.context = json.loads(context)
            self._context_saved = context  # forgotten again when a transaction with it is undone
        if publish:
            self.publish()
        return True

    def publish(self, force=False):
        """Send the job's event: always on a state change (and when ``force``),
        else at most one progress event per EVENT_MIN_INTERVAL: a job whose steps
        take milliseconds sends 'running' and its end, not one event per write."""
        now = time.monotonic()
        if force or self.job.state != self._published[0] or now - self._published[1] >= EVENT_MIN_INTERVAL:
            self._published = (self.job.state, now)
            publish_job(self.job)

    # the main loop ---------------------------------------------------------------------
    def run(self):
        try:
            self._run()
        except LeaseLost:
            log.warning("job %s was taken over by the reaper; this worker stops here", self.job.uuid)

    def _start_record(self, index):
        self.job.steps[index].update(state="running", started_at=_iso(_now()), attempts=0)

    def _cancel(self, completed, index):
        """Stop before step ``index`` and roll back what ran."""
        record = self.job.steps[index] if index < len(self.job.steps) else None
        if record is not None and record.get("state") == "running":
            for key in ("started_at", "attempts"):
                record.pop(key, None)
            record["state"] = "pending"
        step_name = self.flow.steps[index].step_name() if index < len(self.flow.steps) else None
        error = {"code": "JOB_CANCELLED", "message": "cancelled by request", "details": {}, "step": step_name}
        self.rollback(completed, error)
        return self.finish(JobState.CANCELLED, error=error)

    def _segments(self):
        """The flow's steps as runs of indices: each non-transactional step alone, consecutive
        transactional steps together."""
        segments = []
        for index, step_cls in enumerate(self.flow.steps):
            if step_cls.transactional and segments and self.flow.steps[segments[-1][-1]].transactional:
                segments[-1].append(index)
            else:
                segments.append([index])
        return segments

    def _run_step(self, index):
        """Run step ``index`` (with its retries) and record it succeeded; on failure record it
        failed and return the error dict."""
        step_cls = self.flow.steps[index]
        record = self.job.steps[index]
        if record.get("state") != "running":
            self._start_record(index)
        started = _now()
        step = step_cls()
        while True:
            record["attempts"] += 1
            try:
                step.run(self.ctx)
                break
            except LeaseLost:
                raise  # the reaper owns the job now: this worker neither retries nor rolls back
            except Exception as exc:  # noqa: BLE001 - every failure lands on the job
                self._context_saved = None  # the step's own transaction may have undone a checkpoint
                if record["attempts"] <= step.retries:
                    log.info("job %s step %s failed (%s), retrying", self.job.uuid, step.step_name(), exc)
                    time.sleep(step.retry_delay)
                    continue
                if not isinstance(exc, CloudPortalError):
                    log.exception("job %s step %s failed", self.job.uuid, step.step_name())
                error = _error_dict(exc, step.step_name(), self.job.uuid)
                finished = _now()
                record.update(state="failed", finished_at=_iso(finished),
                              duration_ms=round((finished - started).total_seconds() * 1000, 3),
                              error={k: error[k] for k in ("code", "message")})
                return error
        finished = _now()
        record.update(state="succeeded", finished_at=_iso(finished),
                      duration_ms=round((finished - started).total_seconds() * 1000, 3))
        return None

    def _run_segment(self, segment, last):
        """Run the steps of ``segment``. A transactional run goes in one transaction with the job
        write that records it and starts the next step (or finishes the job when ``last``).
        Returns (outcome, error): outcome "ok", "done" (the job finished), "failed" (error is
        the failing step's) or "cancelled"."""
        if not self.flow.steps[segment[0]].transactional:
            error = self._run_step(segment[0])
            return ("failed", error) if error else ("ok", None)
        before = self.ctx.snapshot()
        following = segment[-1] + 1
        try:
            with transaction.atomic():
                for index in segment:
                    error = self._run_step(index)
                    if error:
                        raise _Undo(error)
                if last:
                    self._finish_fields(JobState.SUCCEEDED, result=self.ctx.get("result"))
                    return "done", None
                self._start_record(following)
                if not self.save(publish=False, stop_on_cancel=True,
                                 progress=int(following * 100 / len(self.flow.steps))):
                    raise _Undo(None)
            return "ok", None
        except _Undo as undo:
            error = undo.args[0]
            self._context_saved = None  # what the transaction wrote is gone
        # the transaction was undone, and so is the context; the steps that ran keep their
        # records and are rolled back like any completed step (on the context from before them)
        self.ctx.restore(before)
        return ("failed", error) if error else ("cancelled", None)

    def _write_can_wait(self, done, following):
        """Whether the write recording the end of ``done`` (an ordinary step that just succeeded)
        and the start of ``following`` can be left to the next write of the job, saving one.

        The end is needed only for what ``done`` put in the context (its rollback's input), so it
        can wait when ``done``'s rollback needs none of it or the context holds nothing unwritten;
        "running" and "succeeded" are rolled back alike. The start is needed so that the reaper
        rolls ``following`` back if the worker dies in it; it can wait when ``following`` is
        transactional (its changes commit with a job write, or not at all) or its rollback needs
        no context of its own and is harmless when it never ran (the reaper then undoes it with
        the step recorded as interrupted: ``_possibly_started``). A cancel request is seen at the
        next write instead of this one."""
        if not (following.transactional or following.rollback_from_earlier_context):
            return False  # the start is needed now
        return done.rollback_from_earlier_context or self.ctx.encoded() == self._context_saved

    def _possibly_started(self, recorded):
        """The steps after the last one recorded as running that may have run with no write saying
        so (``_write_can_wait``): the ordinary ``rollback_from_earlier_context`` steps that follow
        it, up to the first other one. ``recorded``: the indices whose record is not pending."""
        if not recorded or self.job.steps[max(recorded)].get("state") != "running":
            return []
        started = []
        for index in range(max(recorded) + 1, len(self.flow.steps)):
            step_cls = self.flow.steps[index]
            if step_cls.transactional or not step_cls.rollback_from_earlier_context:
                break
            started.append(index)
        return started

    def _run(self):
        if self.flow is None:
            return self.finish(JobState.FAILED, error={
                "code": "UNKNOWN_FLOW", "message": f"no flow named {self.job.flow!r}", "details": {}})
        completed = []
        steps = self.flow.steps
        total = len(steps)
        if self.first_step_claimed:
            self.publish()  # the claim already wrote "running" with step 0 started
        else:
            if total:
                self._start_record(0)
            if not self.save(stop_on_cancel=True):
                return self._cancel(completed, 0)
        segments = self._segments()
        for number, segment in enumerate(segments):
            last = number + 1 == len(segments)
            outcome, error = self._run_segment(segment, last)
            if outcome == "done":
                self.publish(force=True)
                return
            if outcome == "failed":
                self.save()
                # a transactional run's steps were undone with it, but their rollbacks still run
                # (idempotent, on the context from before): e.g. one that deletes what the API made
                undone = [i for i in segment if self.job.steps[i].get("state") == "succeeded"]
                self.rollback(completed + undone, error)
                return self.finish(JobState.FAILED, error=error)
            if outcome == "cancelled":  # seen at the end of a transactional run
                return self._cancel(completed + segment, segment[-1] + 1)
            completed.extend(segment)
            if last:
                break
            step_cls, following = self.flow.steps[segment[0]], segment[-1] + 1
            if not step_cls.transactional:
                self._start_record(following)
                if self._write_can_wait(step_cls, steps[following]):
                    self.publish()  # a later write records this step's end and the next one's start
                elif not self.save(stop_on_cancel=True, progress=int(following * 100 / total)):
                    # (one write records this step's end and the next one's start, and sees a cancel)
                    return self._cancel(completed, following)
            else:
                self.publish()
        self.finish(JobState.SUCCEEDED, result=self.ctx.get("result"))

    def rollback(self, indices, error, unknown=()):
        """Undo ``indices`` in reverse; a failing rollback is recorded, the rest still run.
        ``unknown``: those of them that may never have run (``_possibly_started``); they are undone
        all the same but keep their "pending" state, with ``"rollback": "precautionary"``."""
        failures = []
        for index in reversed(indices):
            step_cls = self.flow.steps[index]
            record = self.job.steps[index]
            if step_cls.rollback is None:
                record["rollback"] = "none"
                continue
            if index in unknown:
                record["rollback"] = "precautionary"
            else:
                record["state"] = "rolling_back"
            self.save()
            try:
                step_cls().rollback(self.ctx)
                if index not in unknown:
                    record["state"] = "rolled_back"
            except Exception as exc:  # noqa: BLE001
                log.exception("job %s: rollback of %s failed", self.job.uuid, step_cls.step_name())
                record["state"] = "rollback_failed"
                error_of_rollback = _error_dict(exc, step_cls.step_name(), self.job.uuid, doing="could not be rolled back")
                record["rollback_error"] = {k: v for k, v in error_of_rollback.items() if k in ("code", "message")}
                failures.append({"step": step_cls.step_name(), **record["rollback_error"]})
            self.save()
        if failures:
            error.setdefault("details", {})["rollback_failures"] = failures

    def _finish_fields(self, state, *, result=None, error=None):
        """Write the job's end (and release its resource) in the current transaction."""
        fields = {"state": state, "finished_at": _now(), "lease_expires_at": None}
        if state == JobState.SUCCEEDED:
            fields["progress"] = 100
            fields["result"] = result
        if error is not None:
            fields["error"] = error
        self.save(publish=False, **fields)
        if self.job.resource_uuid and not self.ctx._memo.get(RELEASED):
            release_claim(self.job)

    def finish(self, state, *, result=None, error=None):
        if self.job.resource_uuid:
            with transaction.atomic():  # the job's end and the resource's release are one change
                self._finish_fields(state, result=result, error=error)
        else:
            self._finish_fields(state, result=result, error=error)
        self.publish(force=True)

    # recovery (reaper) -----------------------------------------------------------------------
    def recover(self, dead_worker=""):
        """Roll back a job whose worker died: completed steps and the interrupted
        one (rollbacks are idempotent, so undoing a half-run step is safe)."""
        if self.flow is None:
            return self.finish(JobState.FAILED, error={
                "code": "UNKNOWN_FLOW", "message": f"no flow named {self.job.flow!r}", "details": {}})
        indices = [i for i, rec in enumerate(self.job.steps)
                   if rec.get("state") in ("succeeded", "running", "rolling_back", "failed")]
        unknown = self._possibly_started(indices)
        indices += unknown
        interrupted = next((rec["name"] for rec in self.job.steps if rec.get("state") == "running"), None)
        timed_out = self.job.deadline_at is not None and self.job.deadline_at <= _now()
        if timed_out:
            error = {
                "code": "JOB_TIMEOUT",
                "message": f"the job ran past its deadline ({self.job.deadline_at.isoformat()}); "
                           "it was rolled back",
                "details": {"worker": dead_worker, "deadline_at": self.job.deadline_at.isoformat()},
            }
        else:
            error = {
                "code": "WORKER_LOST",
                "message": f"the worker running this job ({dead_worker or 'unknown'}) stopped answering; "
                           "the job was rolled back",
                "details": {"worker": dead_worker},
            }
        if interrupted:
            error["step"] = interrupted
        self.rollback(indices, error, unknown=unknown)
        self.finish(JobState.FAILED, error=error)



def execute_job(job_uuid):
    """Run one job to its end in this process (what the Celery task calls).

    Claiming is a compare-and-set from pending to running, so a job delivered
    twice (Celery is at-least-once) runs once.
    """
    worker = worker_name()
    try:
        lease = float(JOB_LEASE_SECONDS.value())
        job = prepared.first(Job, select_related=("user",), uuid=job_uuid)  # SQL made once (apps.core.prepared)
    except (OperationalError, InterfaceError) as exc:  # nothing happened yet: try again later
        raise DatabaseUnavailable(str(exc)) from exc
    if job is None:
        raise NotFound(f"job {job_uuid} not found")
    if job.state != JobState.PENDING:
        return job  # a duplicate delivery, or cancelled before it started
    now = _now()
    flow = FLOWS.get(job.flow)
    deadline = now + timedelta(seconds=flow.timeout_seconds() if flow else lease)
    claim = {"state": JobState.RUNNING, "started_at": now, "worker": worker, "deadline_at": deadline,
             "lease_expires_at": min(now + timedelta(seconds=lease), deadline)}
    # one write claims the job and records its first step as started (unless a
    # cancel is already asking to stop before it)
    first_step = bool(flow and flow.steps and job.steps) and not job.cancel_requested
    if first_step:
        steps = [dict(record) for record in job.steps]
        steps[0].update(state="running", started_at=_iso(now), attempts=0)
        claim["steps"] = steps
    try:
        claimed = update_row(Job, {"id": job.pk, "state": JobState.PENDING}, claim)
    except (OperationalError, InterfaceError) as exc:  # not claimed: the job is still pending
        raise DatabaseUnavailable(str(exc)) from exc
    if not claimed:
        return Job.objects.get(pk=job.pk)  # another worker claimed it first
    for key, value in claim.items():
        setattr(job, key, value)
    runner = JobRunner(job, worker)
    runner.first_step_claimed = first_step
    keeper = LeaseKeeper.get()
    keeper.keep(job.pk, worker, lease, deadline)
    try:
        with actx.acting(user=job.user, req_id=job.request_id or None, job=job.uuid):
            runner.run()
    finally:
        keeper.drop(job.pk)
    return runner.job


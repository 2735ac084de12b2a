"""The runner: a claimed job's steps in order, in the transactions their kinds call for, with
rollback in reverse on a failure or a cancel (the record it keeps is ``progress.JobProgress``).

When the job is written follows from the steps' kinds (``steps.py``) and from what they put in
the context:

- a run of database steps (``DbStep``, and the ``record`` of a remote step just before them) is one
  transaction that ends with the job write recording it and starting the next step (or the job's
  end); when it fails or a cancel is seen there, it is undone and so is the context;
- after a remote step, the job is written (its end, the next step's start, a cancel request seen)
  only when the step put something in the context; else that waits for the next write. What a
  remote step sets inside a transaction of its own is written in that transaction at once. A
  remote step with a ``record`` is recorded with it.

So when a remote step starts, the job's row holds the context it starts with. A worker dying leaves
the last step recorded "running"; the reaper rolls it back together with the remote steps after it
that may have run unrecorded (``reaper.possibly_started``).
"""
import logging
import time

from django.db import connection, transaction

from ..models import JobState
from .progress import JobProgress, LeaseLost, iso, now
from .steps import DbStep

log = logging.getLogger(__name__)


class _Undo(Exception):
    """Leaves a transaction's ``atomic`` block so that its changes are undone."""


class JobRunner(JobProgress):
    """Runs a claimed job's steps in this process (``worker.execute_job``); the reaper rolls back,
    with it, a job whose worker died (``reaper.recover``)."""

    def run(self):
        try:
            self._run()
        except LeaseLost:
            log.warning("job %s was taken over by the reaper; this worker stops here", self.job.uuid)

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
        """The flow as runs of ``(step index, "run" | "record")``: a remote step's run alone; database
        steps together, after the ``record`` of the remote step before them (alone when no database
        step follows it)."""
        segments = []
        for index, step_cls in enumerate(self.flow.steps):
            if not issubclass(step_cls, DbStep):
                segments.append([(index, "run")])
                if step_cls.record is not None:
                    segments.append([(index, "record")])
            elif segments and self._is_transaction(segments[-1]):
                segments[-1].append((index, "run"))
            else:
                segments.append([(index, "run")])
        return segments

    def _is_transaction(self, segment):
        index, phase = segment[0]
        return phase == "record" or issubclass(self.flow.steps[index], DbStep)

    def _run_step(self, index):
        """Run step ``index`` (with its retries) and record it succeeded; on failure record it
        failed and return the error dict."""
        step_cls = self.flow.steps[index]
        record = self.job.steps[index]
        if record.get("state") != "running":
            self._start_record(index)
        started = now()
        step = step_cls()
        remote = not issubclass(step_cls, DbStep)
        while True:
            record["attempts"] += 1
            self._depth = len(connection.atomic_blocks) if remote else None
            object.__setattr__(self.ctx, "_on_change", self._context_changed if remote else None)
            object.__setattr__(self.ctx, "_on_progress", self._progress_of(record) if remote else None)
            try:
                step.run(self.ctx)
                break
            except LeaseLost:
                raise  # the reaper owns the job now: this worker neither retries nor rolls back
            except Exception as exc:  # noqa: BLE001 - every failure lands on the job
                self._take_back_undone_keys()
                if record["attempts"] <= step.retries:
                    log.info("job %s step %s failed (%s), retrying", self.job.uuid, step.step_name(), exc)
                    time.sleep(step.retry_delay)
                    continue
                return self._step_failed(index, exc, started)
            finally:
                self._depth = None
                object.__setattr__(self.ctx, "_on_change", None)
                object.__setattr__(self.ctx, "_on_progress", None)
        self._set_in_transaction.clear()
        finished = now()
        record.update(state="succeeded", finished_at=iso(finished),
                      duration_ms=round((finished - started).total_seconds() * 1000, 3))
        return None

    def _record(self, index):
        """Write the rows of what remote step ``index`` made (its ``record``), in the current transaction."""
        started = now()
        try:
            self.flow.steps[index]().record(self.ctx)
        except Exception as exc:  # noqa: BLE001
            return self._step_failed(index, exc, started)
        return None

    def _following(self, segments, number):
        """The step that starts after segment ``number`` (None after the last)."""
        for segment in segments[number + 1:]:
            for index, phase in segment:
                if phase == "run":
                    return index
        return None

    def _run_transaction(self, segment, following):
        """Run ``segment`` in one transaction with the job write that records it and starts
        ``following`` (or finishes the job when it is None). Returns (outcome, error): outcome
        "ok", "done" (the job finished), "failed" (error is the failing step's) or "cancelled"."""
        before = self.ctx.snapshot()
        try:
            with transaction.atomic():
                for index, phase in segment:
                    error = self._run_step(index) if phase == "run" else self._record(index)
                    if error:
                        raise _Undo(error)
                if following is None:
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

    def _run(self):
        if self.flow is None:
            return self.finish(JobState.FAILED, error={
                "code": "UNKNOWN_FLOW", "message": f"no flow named {self.job.flow!r}", "details": {}})
        completed = []
        steps = self.flow.steps
        if self.first_step_claimed:
            self.publish()  # the claim already wrote "running" with step 0 started
        else:
            if steps:
                self._start_record(0)
            if not self.save(stop_on_cancel=True):
                return self._cancel(completed, 0)
        segments = self._segments()
        for number, segment in enumerate(segments):
            following = self._following(segments, number)
            ran = [index for index, phase in segment if phase == "run"]
            if self._is_transaction(segment):
                outcome, error = self._run_transaction(segment, following)
                if outcome == "done":
                    self.publish(force=True)
                    return
                if outcome == "cancelled":
                    return self._cancel(completed + ran, following)
                if outcome == "failed":
                    # the transaction undid them, but their rollbacks still run (idempotent, on the
                    # context from before): e.g. one that deletes what the API made
                    failed = [i for i, _ in segment if self.job.steps[i].get("state") in ("succeeded", "failed")]
                    return self._fail(sorted(set(completed + failed)), error)
                completed.extend(ran)
                self.publish()
                continue
            index = segment[0][0]
            error = self._run_step(index)
            if error:
                return self._fail(completed + [index], error)
            completed.append(index)
            if following is None and steps[index].record is None:
                break
            if steps[index].record is not None or self.ctx.encoded() == self._context_saved:
                self.publish()  # nothing the reaper would miss: a later write records the end and the next start
                continue
            self._start_record(following)
            if not self.save(stop_on_cancel=True, progress=int(following * 100 / len(steps))):
                return self._cancel(completed, following)
        self.finish(JobState.SUCCEEDED, result=self.ctx.get("result"))

    def _fail(self, indices, error):
        """A step failed: roll it back with the steps before it, in reverse, and fail the job."""
        self.save()
        self.rollback(indices, error)
        return self.finish(JobState.FAILED, error=error)

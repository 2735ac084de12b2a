"""A running job's record: its progress written fenced by ownership (``save``), its events, the
rollback of its steps in reverse, its end. ``runner.JobRunner`` runs the steps on it."""
import json
import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from ..errors import CloudPortalError
from ..events import publish_job
from ..models import Job, JobState, resource_model
from ..rowupdate import Encoded, update_row
from .context import RELEASED, Context
from .steps import FLOWS

log = logging.getLogger(__name__)

EVENT_MIN_INTERVAL = 0.25  # seconds between two progress events of one job (state changes always go)
# Callables ``hook(job, state, seconds)`` told of each job's end by the process that ended it (apps
# append to it in their AppConfig.ready(); apps.monitoring counts jobs and their durations). A hook
# that raises is logged and ignored: counting a job never fails it.
JOB_FINISHED_HOOKS = []


class LeaseLost(Exception):
    """This process no longer owns the job (the reaper took it over)."""


def now():
    return timezone.now()


def iso(dt):
    return dt.isoformat() if dt else None


def error_dict(exc, step_name=None, job_uuid=None, doing="failed"):
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


class JobProgress:
    def __init__(self, job, worker):
        self.job = job
        self.worker = worker
        self.flow = FLOWS.get(job.flow)
        self.ctx = Context(job)
        self.first_step_claimed = False  # execute_job recorded step 0 as running with the claim
        self._context_saved = self.ctx.encoded()  # the context text the job's row holds (None: not known)
        self._published = (None, 0.0)  # (state, monotonic time) of the last event sent
        self._depth = None  # atomic blocks open when the running remote step began (None: none runs)
        self._set_in_transaction = set()  # context keys that step set inside a transaction of its own

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

    def _context_changed(self, key):
        """A remote step set ``key``: inside a transaction of its own, the context is written in that
        transaction, so the change and the record of it commit together or not at all (a counted
        reference its rollback must release, say). Raises LeaseLost (undoing the transaction) when
        the reaper took the job over."""
        if self._depth is not None and len(connection.atomic_blocks) > self._depth:
            self._set_in_transaction.add(key)
            self.save(publish=False)

    def _progress_of(self, record):
        """What ``ctx.report_progress`` does while the step of ``record`` runs: the step's detail
        and the job's progress written (fenced by ownership, like every write) and published."""
        def report(percent, detail):
            record["detail"] = detail
            self.save(progress=max(0, min(100, int(percent))))
        return report

    def _take_back_undone_keys(self):
        """The keys the step set in transactions that were undone go back to what the job's row holds."""
        if self._set_in_transaction:
            saved = Job.objects.filter(pk=self.job.pk).values_list("context", flat=True).first() or {}
            self.ctx.take_back(self._set_in_transaction, saved)
            self._set_in_transaction.clear()
            self._context_saved = None

    def publish(self, force=False):
        """Send the job's event: always on a state change (and when ``force``),
        else at most one progress event per EVENT_MIN_INTERVAL: a job whose steps
        take milliseconds sends 'running' and its end, not one event per write."""
        now = time.monotonic()
        if force or self.job.state != self._published[0] or now - self._published[1] >= EVENT_MIN_INTERVAL:
            self._published = (self.job.state, now)
            publish_job(self.job)


    def _start_record(self, index):
        if index < len(self.job.steps):
            self.job.steps[index].update(state="running", started_at=iso(now()), attempts=0)

    def _step_failed(self, index, exc, started):
        step_name = self.flow.steps[index].step_name()
        if not isinstance(exc, CloudPortalError):
            log.exception("job %s step %s failed", self.job.uuid, step_name)
        error = error_dict(exc, step_name, self.job.uuid)
        finished = now()
        self.job.steps[index].update(state="failed", finished_at=iso(finished),
                                     duration_ms=round((finished - started).total_seconds() * 1000, 3),
                                     error={k: error[k] for k in ("code", "message")})
        return error

    def rollback(self, indices, error, unknown=()):
        """Undo ``indices`` in reverse; a failing rollback is recorded, the rest still run. The step
        that failed keeps its state and says ``"rollback": "done"`` (or ``"failed"``). ``unknown``:
        steps that may never have run (``reaper.possibly_started``); they are undone all the same
        but keep their "pending" state, with ``"rollback": "precautionary"``."""
        failures = []
        for index in reversed(indices):
            step_cls = self.flow.steps[index]
            record = self.job.steps[index]
            failed = record.get("state") == "failed"
            if step_cls.rollback is None:
                if index not in unknown:
                    record["rollback"] = "none"
                continue
            if index in unknown:
                record["rollback"] = "precautionary"
            elif not failed:
                record["state"] = "rolling_back"
            self.save()
            try:
                step_cls().rollback(self.ctx)
                if failed:
                    record["rollback"] = "done"
                elif index not in unknown:
                    record["state"] = "rolled_back"
            except Exception as exc:  # noqa: BLE001
                log.exception("job %s: rollback of %s failed", self.job.uuid, step_cls.step_name())
                if failed:
                    record["rollback"] = "failed"
                else:
                    record["state"] = "rollback_failed"
                error_of_rollback = error_dict(exc, step_cls.step_name(), self.job.uuid, doing="could not be rolled back")
                record["rollback_error"] = {k: v for k, v in error_of_rollback.items() if k in ("code", "message")}
                failures.append({"step": step_cls.step_name(), **record["rollback_error"]})
            self.save()
        if failures:
            error.setdefault("details", {})["rollback_failures"] = failures

    def _finish_fields(self, state, *, result=None, error=None):
        """Write the job's end (and release its resource) in the current transaction."""
        fields = {"state": state, "finished_at": now(), "lease_expires_at": None}
        if state == JobState.SUCCEEDED:
            fields["progress"] = 100
            fields["result"] = result
        if error is not None:
            fields["error"] = error
        self.save(publish=False, **fields)
        if self.job.resource_uuid and not self.ctx._memo.get(RELEASED):
            release_claim(self.job)
        seconds = (fields["finished_at"] - (self.job.started_at or self.job.created_at)).total_seconds()
        for hook in JOB_FINISHED_HOOKS:
            try:
                hook(self.job, state, seconds)
            except Exception:  # noqa: BLE001 - a metric is never worth a job
                log.exception("job-finished hook %r failed", hook)

    def finish(self, state, *, result=None, error=None):
        if self.job.resource_uuid:
            with transaction.atomic():  # the job's end and the resource's release are one change
                self._finish_fields(state, result=result, error=error)
        else:
            self._finish_fields(state, result=result, error=error)
        self.publish(force=True)

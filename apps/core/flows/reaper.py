"""The reaper (on beat): rolls back the running jobs whose worker's lease ran out (it died, or the
job passed its deadline) and fails the pending jobs no worker took in time."""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import context as actx
from ..events import publish_job
from ..globalconfig.defaults import JOB_LEASE_SECONDS
from ..models import Job, JobState
from ..rowupdate import update_row
from .progress import release_claim
from .runner import JobRunner
from .steps import DbStep
from .worker import worker_name

log = logging.getLogger(__name__)


def reap_jobs():
    """Roll back running jobs whose lease expired; fail pending jobs nobody took."""
    now = timezone.now()
    lease = float(JOB_LEASE_SECONDS.value())
    reaped = []
    for job in Job.objects.filter(state=JobState.RUNNING, lease_expires_at__lt=now):
        me = f"reaper:{worker_name()}"
        dead_worker = job.worker
        # by primary key (update_row): a worker finishing the job meanwhile locks in the same order
        taken = update_row(Job, {"id": job.pk, "state": JobState.RUNNING, "lease_expires_at": job.lease_expires_at},
                           {"worker": me, "lease_expires_at": now + timedelta(seconds=lease)})
        if not taken:
            continue  # another reaper has it
        job.refresh_from_db()
        runner = JobRunner(job, me)
        log.warning("reaping job %s (%s): its worker's lease expired", job.uuid, job.flow)
        with actx.acting(user=None, req_id=job.request_id or None, job=job.uuid):
            recover(runner, dead_worker)
        reaped.append(job.uuid)
    stale = now - timedelta(seconds=float(settings.JOB_PENDING_TIMEOUT_SECONDS))
    for job in Job.objects.filter(state=JobState.PENDING, created_at__lt=stale):
        error = {"code": "JOB_NOT_STARTED", "message": "no worker picked this job up in time", "details": {}}
        with transaction.atomic():
            failed = update_row(Job, {"id": job.pk, "state": JobState.PENDING},
                                {"state": JobState.FAILED, "finished_at": now, "error": error})
            if failed:
                release_claim(job)
        if failed:
            job.refresh_from_db()
            publish_job(job)
            reaped.append(job.uuid)
    return reaped


def possibly_started(flow, steps, recorded):
    """The steps after the last one recorded as running that may have run with no write saying so
    (the runner leaves the end of a remote step that put nothing in the context, and the start of
    the next step, to a later write): the remote steps that follow it, up to the first database
    step, which commits with its record or not at all. ``recorded``: the indices whose record is
    not pending."""
    if not recorded or steps[max(recorded)].get("state") != "running":
        return []
    started = []
    for index in range(max(recorded) + 1, len(flow.steps)):
        step_cls = flow.steps[index]
        if issubclass(step_cls, DbStep):
            break
        if step_cls.rollback is not None:
            started.append(index)
    return started


def recover(runner, dead_worker=""):
    """Roll back a job whose worker died: its completed steps, the interrupted one and those that
    may have run after it (rollbacks are idempotent, so undoing a half-run step is safe)."""
    job = runner.job
    if runner.flow is None:
        return runner.finish(JobState.FAILED, error={
            "code": "UNKNOWN_FLOW", "message": f"no flow named {job.flow!r}", "details": {}})
    indices = [i for i, rec in enumerate(job.steps)
               if rec.get("state") in ("succeeded", "running", "rolling_back")
               or (rec.get("state") == "failed" and rec.get("rollback") not in ("done", "none"))]
    unknown = possibly_started(runner.flow, job.steps, indices)
    interrupted = next((rec["name"] for rec in job.steps if rec.get("state") == "running"), None)
    if job.deadline_at is not None and job.deadline_at <= timezone.now():
        error = {
            "code": "JOB_TIMEOUT",
            "message": f"the job ran past its deadline ({job.deadline_at.isoformat()}); it was rolled back",
            "details": {"worker": dead_worker, "deadline_at": job.deadline_at.isoformat()},
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
    runner.rollback(indices + unknown, error, unknown=unknown)
    runner.finish(JobState.FAILED, error=error)

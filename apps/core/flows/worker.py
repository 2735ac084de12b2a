"""Taking a job from the queue: ``execute_job`` claims it and runs it in this process (what the
Celery task calls), its lease renewed meanwhile."""
import os
import socket
import threading
from datetime import timedelta

from django.db import InterfaceError, OperationalError

from .. import context as actx
from .. import prepared
from ..errors import NotFound
from ..globalconfig.defaults import JOB_LEASE_SECONDS
from ..models import Job, JobState
from ..rowupdate import update_row
from .leases import LeaseKeeper
from .progress import iso, now
from .runner import JobRunner
from .steps import FLOWS


class DatabaseUnavailable(Exception):
    """The database could not be reached before the job was claimed: the job is untouched (still
    pending) and the delivery should be tried again later (the Celery task retries)."""


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


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
    at = now()
    flow = FLOWS.get(job.flow)
    deadline = at + timedelta(seconds=flow.timeout_seconds() if flow else lease)
    claim = {"state": JobState.RUNNING, "started_at": at, "worker": worker, "deadline_at": deadline,
             "lease_expires_at": min(at + timedelta(seconds=lease), deadline)}
    # one write claims the job and records its first step as started (unless a
    # cancel is already asking to stop before it)
    first_step = bool(flow and flow.steps and job.steps) and not job.cancel_requested
    if first_step:
        steps = [dict(record) for record in job.steps]
        steps[0].update(state="running", started_at=iso(at), attempts=0)
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

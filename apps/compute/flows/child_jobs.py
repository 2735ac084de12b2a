"""A step that needs a whole VM operation done (a migration for maintenance, a stop) runs that
operation's own flow as a job of its own on the VM, and waits for it.

The job is claimed on the VM like any other (a VM busy with another job is refused: 409), it shows
in the VM's job history, and it rolls itself back when it fails. The waiting step runs the job in
its own process when no worker has taken it yet, so a portal with a single worker slot cannot
deadlock waiting for a job queued behind the one that waits.
"""
import time

from apps.core.errors import CloudPortalError
from apps.core.flows import execute_job, start_job
from apps.core.models import FINISHED_STATES, Job

POLL_SECONDS = 0.5


def run_child(flow, resource, args, *, timeout, user=None):
    """Run ``flow`` on ``resource`` with ``args`` to its end; answers the finished Job (its
    ``state`` says whether it succeeded, its ``error`` why not). ResourceBusy (409) when another
    job holds the resource; CHILD_JOB_TIMEOUT when it has not finished within ``timeout`` seconds."""
    job = start_job(flow, resource=resource, args=args, user=user)
    execute_job(job.uuid)   # here, unless a worker (or eager dispatch) took it first
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job.pk)
        if job.state in FINISHED_STATES:
            return job
        if time.monotonic() > deadline:
            raise CloudPortalError(f"job {job.uuid} ({flow.name}) did not finish within {timeout:g} s",
                                   code="CHILD_JOB_TIMEOUT", status=504,
                                   details={"job_uuid": str(job.uuid), "flow": flow.name})
        time.sleep(POLL_SECONDS)


def job_error(job):
    """What a failed child job's error says, for the parent's record (never a traceback)."""
    error = job.error or {}
    return {"code": error.get("code", "JOB_FAILED"), "message": error.get("message", f"job {job.uuid} failed"),
            "job_uuid": str(job.uuid)}

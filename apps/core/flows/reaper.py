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
from .runner import JobRunner, release_claim, worker_name

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
            runner.recover(dead_worker)
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

"""Starting, dispatching and cancelling jobs."""
import uuid as uuid_lib

from django.db import transaction
from django.utils import timezone

from .. import context as actx
from .. import prepared
from ..errors import InvalidState
from ..events import publish_job
from ..models import FINISHED_STATES, Job, JobState
from ..rowupdate import update_row
from .progress import release_claim
from .steps import FLOWS
from .tasks import run_job


def start_job(flow, *, resource=None, args=None, user=None, action=None, resource_type=None, resource_uuid=None,
              job_uuid=None):
    """Record a job for ``flow`` and dispatch it after commit.

    With ``resource``, the resource is claimed first (atomic compare-and-set on its
    ``busy_job``): a second operation on the same resource raises ResourceBusy (409)
    naming the running job. ``job_uuid``: the job's uuid, chosen by the caller; a resource the
    caller inserted already claimed by it (``busy_job=job_uuid``, in the caller's transaction)
    needs no claim.
    """
    if isinstance(flow, str):
        flow = FLOWS[flow]
    job_uuid = job_uuid or uuid_lib.uuid4()
    claim = resource is not None and getattr(resource, "busy_job", None) != job_uuid
    # a savepoint only for a claim, whose 409 the caller may catch and go on; an INSERT that fails
    # spoils the caller's transaction too, as it should (it made the resource for this job)
    with transaction.atomic(savepoint=claim):
        if claim:
            resource.mark_busy(job_uuid)
        if resource is not None:
            resource_type = resource.resource_type()
            resource_uuid = resource.uuid
        job = prepared.insert(Job(
            uuid=job_uuid,
            flow=flow.name,
            action=action or flow.action,
            steps=[{"name": s.step_name(), "state": "pending"} for s in flow.steps],
            args=args or {},
            resource_type=resource_type or "",
            resource_uuid=resource_uuid,
            account_id=getattr(user, "account_id", None),
            user=user if user is not None and user.pk else None,
            request_id=actx.request_id.get(),
        ))
        # announced once it is committed (the caller's transaction may hold it back, or undo it),
        # before a worker can take it
        transaction.on_commit(lambda: publish_job(job))
        transaction.on_commit(lambda: dispatch(job.uuid))
    return job


_declared_queues = set()  # queues this process declared to the broker (``dispatch``)


def dispatch(job_uuid):
    """Hand the job to a worker through the broker. The queue is declared with the first message
    this process sends to it only: Celery declares it with every message otherwise, and kombu
    copies and binds the queue each time for a declaration the broker already has (a third of the
    publish's CPU in a VM create, 4 % of the web's)."""
    queue = run_job.app.conf.task_default_queue
    first = queue not in _declared_queues
    run_job.apply_async(args=[str(job_uuid)], queue=queue, declare=None if first else [])
    _declared_queues.add(queue)


def request_cancel(job):
    """Cancel a job: at once if still pending, else between its steps."""
    if job.state in FINISHED_STATES:
        raise InvalidState(f"job {job.uuid} already {job.state}", details={"state": job.state})
    now = timezone.now()
    with transaction.atomic():
        cancelled = update_row(Job, {"id": job.pk, "state": JobState.PENDING}, {
            "state": JobState.CANCELLED, "cancel_requested": True, "finished_at": now,
            "error": {"code": "JOB_CANCELLED", "message": "cancelled before it started", "details": {}}})
        if cancelled:
            release_claim(job)
    if cancelled:
        job.refresh_from_db()
        publish_job(job)
        return job
    update_row(Job, {"id": job.pk}, {"cancel_requested": True})
    job.refresh_from_db()
    return job


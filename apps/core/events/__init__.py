"""Live events: resource changes and job progress, published to Channels groups.

Groups: ``job.<uuid>``, ``resource.<uuid>``, ``jobs.account.<id>`` (every job of an account: the
console's task panel), ``new.<type>`` and ``new.<type>.<account id>`` (rows a followable type
adds: ``followable.py``). With Redis (``REDIS_URL``) events go
straight to the channel layer every process shares. Without it (zero-setup) they
are written to the ``Event`` table and each web process relays them to its own
subscribers (``relay.py``), so a worker's events still reach the browser.
"""
import logging

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

log = logging.getLogger(__name__)


def group_for_job(job_uuid):
    return f"job.{job_uuid}"


def group_for_resource(resource_uuid):
    return f"resource.{resource_uuid}"


def group_for_account_jobs(account_id):
    """Every job event of the account with this primary key (who started it: ``Job.account``)."""
    return f"jobs.account.{account_id}"


def group_for_new_rows(resource_type, account_id=None):
    """Rows of ``resource_type`` just made: all of them (admins), or the account's with this key."""
    return f"new.{resource_type}" if account_id is None else f"new.{resource_type}.{account_id}"


def _jsonable(payload):
    import json

    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def publish(groups, payload):
    """Send ``payload`` to every group in ``groups``; never fails the caller.

    From synchronous code (views, flow steps) the send is handed to this
    process's publisher thread and does not wait; from inside an event loop
    (a consumer) it is scheduled on that loop.
    """
    payload = _jsonable(payload)
    try:
        if settings.EVENTS_BACKEND == "database":
            from ..models import Event

            Event.objects.create(groups=list(groups), payload=payload)
        else:
            from .publisher import submit

            submit(list(groups), payload)
    except Exception:  # an event is a notification; losing one must not fail an operation
        log.exception("could not publish event %s", payload.get("type"))


def job_payload(job):
    return {
        "type": "job",
        "uuid": str(job.uuid),
        "action": job.action,
        "state": job.state,
        "progress": job.progress,
        "steps": job.steps,
        "resource_type": job.resource_type,
        "resource_uuid": str(job.resource_uuid) if job.resource_uuid else None,
        "error": job.error,
        "result": job.result,
    }


def publish_job(job):
    groups = [group_for_job(job.uuid)]
    if job.resource_uuid:
        groups.append(group_for_resource(job.resource_uuid))
    if job.account_id:
        groups.append(group_for_account_jobs(job.account_id))
    publish(groups, job_payload(job))


def publish_resource_change(resource_type, resource_uuid, action, changes):
    """Announce a change once it is committed: a change undone with its transaction (a flow's
    database steps that failed, say) is never announced. Outside an atomic block: at once."""
    payload = {"type": "resource", "resource_type": resource_type, "uuid": str(resource_uuid),
               "action": action, "changes": changes}
    _when_committed([group_for_resource(resource_uuid)], payload)


def publish_new_row(resource_type, row_uuid, account_id, fields):
    """Announce a row a followable type (``followable.py``, ``new_rows``) has just made to the lists
    following its new rows: every admin's, and its account's (``account_id``; None: admins' only)."""
    groups = [group_for_new_rows(resource_type)]
    if account_id is not None:
        groups.append(group_for_new_rows(resource_type, account_id))
    payload = {"type": "resource", "resource_type": resource_type, "uuid": str(row_uuid), "action": "create",
               "changes": {"before": {}, "after": fields}}
    _when_committed(groups, payload)


def _when_committed(groups, payload):
    from django.db import transaction

    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: publish(groups, payload))
    else:  # autocommit (already committed), or autocommit turned off by hand (no hooks there)
        publish(groups, payload)

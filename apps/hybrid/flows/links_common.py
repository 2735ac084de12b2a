"""What the Express Connect and VPN flows share: the data centre's cloud, waiting for a resource
of the VPC product to reach a status (or to be gone), and rows that mirror what a flow made.

Waiting polls like the ECS flows (``common.wait_for``): 0.2 s at first, doubling up to
``hybrid/ecs.pollInterval``, for at most ``hybrid/ecs.waitTimeout``; the job's step shows the
status last seen.
"""
import time

from django.db import transaction

from ..cloud import AlibabaError, Cloud
from ..globalconfig import POLL_INTERVAL, WAIT_TIMEOUT
from ..models import AlibabaDataCenter
from ..remote_kinds import PORTAL_TAG
from .common import FIRST_POLL, WaitTimedOut

GONE = None   # what a ``read`` answers for a resource the cloud no longer has


def data_center_cloud(ctx):
    """The cloud of the job's data centre (``ctx.args["data_center_uuid"]``), read once per run."""
    def load():
        data_center = AlibabaDataCenter.objects.select_related("access_key").get(uuid=ctx.args["data_center_uuid"])
        return Cloud.of(data_center)
    return ctx.cached(("cloud", ctx.args["data_center_uuid"]), load)


def wait_status(ctx, read, wanted, subject):
    """Poll ``read()`` (the status, or GONE) until it is one of ``wanted`` (GONE among them: until
    the resource is gone). ``subject``: what the job's step names ("router interface ri-...")."""
    deadline = time.monotonic() + WAIT_TIMEOUT.value()
    pause, longest, seen = FIRST_POLL, POLL_INTERVAL.value(), "?"
    wanted_text = " or ".join("gone" if w is GONE else w for w in wanted)
    while True:
        status = read()
        if status in wanted:
            return status
        if status is GONE:
            raise AlibabaError(f"{subject} disappeared while the portal waited for it to be {wanted_text}",
                               code="ALIBABA_RESOURCE_GONE", status=409, details={"resource": subject})
        if status != seen:
            seen = status
            ctx.report_progress(ctx.job.progress or 0, resource=subject, status=status, waiting_for=wanted_text)
        if time.monotonic() + pause > deadline:
            raise WaitTimedOut(f"{subject} was not {wanted_text} after {WAIT_TIMEOUT.value()} s (it is {status})",
                               details={"resource": subject, "status": status, "waiting_for": wanted_text})
        time.sleep(pause)
        pause = min(pause * 2, longest)


def portal_tag(value):
    """The tag a flow puts on what it creates (``Tags``/``Tag`` of the VPC product's create calls),
    by which its rollback and a sync find it even when the worker died before it recorded the id."""
    return [{"Key": PORTAL_TAG, "Value": str(value)}]


def upsert_mirror(model, data_center, key_column, key, values):
    """The row of ``model`` mirroring the cloud's resource ``key``: the one a flow made (with its
    columns), or one a sync imported meanwhile (updated the same way)."""
    with transaction.atomic(savepoint=False):
        row = model.objects.select_for_update().filter(data_center=data_center, **{key_column: key}).first()
        if row is None:
            return model.objects.create(account_id=data_center.account_id, data_center=data_center,
                                        **{key_column: key}, **values)
        for column, value in values.items():
            setattr(row, column, value)
        row.save()
        return row


def take_id(model, row_uuid, key_column, key):
    """Give the flow's row (``row_uuid``, made without an id) the cloud's id ``key``; a row a sync
    imported for the same resource meanwhile goes (the flow's row is the one the user asked for)."""
    with transaction.atomic(savepoint=False):
        row = model.objects.select_for_update().get(uuid=row_uuid)
        if getattr(row, key_column) == key:
            return row
        model.objects.filter(data_center_id=row.data_center_id, **{key_column: key}).exclude(pk=row.pk).delete()
        setattr(row, key_column, key)
        row.save(update_fields=[key_column, "updated_at"])
        return row


def set_row(model, row_uuid, **fields):
    """Write ``fields`` on the row ``row_uuid`` (gone already: nothing to do)."""
    with transaction.atomic(savepoint=False):
        row = model.objects.select_for_update().filter(uuid=row_uuid).first()
        if row is None:
            return None
        for column, value in fields.items():
            setattr(row, column, value)
        row.save(update_fields=[*fields, "updated_at"])
        return row

"""What the storage flows (buckets, images, disks) share: their row and its cloud, state changes
through the row's state table, the first and last steps of an action, and waiting for the cloud.

Each storage flow names its row by one argument (``bucket_uuid``, ``image_uuid``, ``disk_uuid``):
a step class says which model and argument it works on (``Begin.of(EcsDisk, "disk_uuid", "attaching")``).
"""
import time

from django.db import transaction

from apps.core.flows import DbStep, NoRollback

from ..cloud import Cloud
from ..globalconfig import POLL_INTERVAL, WAIT_TIMEOUT
from .common import FIRST_POLL, WaitTimedOut
from .common import save_state as fire  # noqa: F401  (the storage flows' name for it)

ARGS = {"OssBucket": "bucket_uuid", "EcsImage": "image_uuid", "EcsDisk": "disk_uuid"}


def uuid_arg(model):
    return ARGS[model.__name__]


def row_of(ctx, model):
    return model.objects.select_related("data_center__access_key").get(uuid=ctx.args[uuid_arg(model)])


def cloud_of(ctx, model):
    """The cloud of the row's data centre (its key and region), read once per job run."""
    uuid = ctx.args[uuid_arg(model)]
    return ctx.cached(("cloud", uuid), lambda: Cloud.of(row_of(ctx, model).data_center))


class Begin(DbStep):
    """The row into the state ``event`` leads to (checked again under a lock: the view checked it
    first); its rollback puts back the state before while the row still is where Begin put it."""

    model, event = None, None

    def run(self, ctx):
        ctx.state_before = fire(self.model, ctx.args[uuid_arg(self.model)], self.event)

    def rollback(self, ctx):
        before = ctx.get("state_before")
        if before is None:
            return
        with transaction.atomic(savepoint=False):
            row = self.model.objects.select_for_update().filter(uuid=ctx.args[uuid_arg(self.model)]).first()
            if row is not None and row.state == self.model.state_machine.next(before, self.event) != before:
                row.state = before
                row.save(update_fields=["state", "updated_at"])

    @classmethod
    def of(cls, model, event):
        name = f"Begin{event.title().replace('-', '')}"
        return type(name, (cls,), {"model": model, "event": event})


class DeleteRow(DbStep, NoRollback):
    """The row goes (the last step of a delete), and its job's claim with it."""

    model = None

    def run(self, ctx):
        row = self.model.objects.filter(uuid=ctx.args[uuid_arg(self.model)]).first()
        ctx.result = {uuid_arg(self.model): ctx.args[uuid_arg(self.model)], "deleted": True}
        if row is not None:
            row.delete()
        ctx.resource_released()

    @classmethod
    def of(cls, model):
        return type(f"Delete{model.__name__}Row", (cls,), {"model": model})


def wait_until(ctx, read, reached, what, timeout=None, progress=None):
    """Poll ``read()`` (the cloud's item, or None when it has none) until ``reached(item)``: soon at
    first, then doubling up to ``hybrid/ecs.pollInterval``, for at most ``timeout`` seconds
    (``hybrid/ecs.waitTimeout``). The step shows the status it last saw; ``progress(item)`` gives the
    job's percent while it waits. Returns the last item."""
    timeout = timeout or WAIT_TIMEOUT.value()
    deadline = time.monotonic() + timeout
    pause, longest, seen = FIRST_POLL, POLL_INTERVAL.value(), object()
    while True:
        item = read()
        if reached(item):
            return item
        status = (item or {}).get("Status") or ("gone" if item is None else "")
        percent = progress(item) if progress else None
        if (status, percent) != seen:
            seen = (status, percent)
            ctx.report_progress(percent if percent is not None else (ctx.job.progress or 0), status=status,
                                waiting_for=what)
        if time.monotonic() + pause > deadline:
            raise WaitTimedOut(f"{what} did not happen within {timeout} s (the cloud says {status})",
                               details={"status": status, "waiting_for": what})
        time.sleep(pause)
        pause = min(pause * 2, longest)

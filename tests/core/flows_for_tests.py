"""Flows used by the engine tests; imported by real workers too (celery --include)."""
import time

from django.db import transaction

from apps.core.errors import CloudPortalError
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep
from apps.core.models import Job
from apps.infra.models import Zone

JOURNAL = []  # (event, step index) for in-process runs


def _make_step(index, puts_zone=True):
    """A remote step that leaves a zone; ``puts_zone``: and puts its uuid in the context (its
    rollback finds the zone by name either way)."""
    class Numbered(RemoteStep):
        name = f"step{index}"

        def run(self, ctx):
            if ctx.args.get("fail_at") == index:
                raise CloudPortalError(f"step {index} failed on purpose", code="INJECTED_FAILURE",
                                       details={"index": index})
            JOURNAL.append(("run", index))
            # leave a trace in the database that rollback must remove
            zone, _ = Zone.objects.get_or_create(name=f"{ctx.job.uuid}-{index}")
            if puts_zone:
                ctx.__setattr__(f"zone{index}", str(zone.uuid))

        def rollback(self, ctx):
            JOURNAL.append(("rollback", index))
            if index in ctx.args.get("rollback_fail_at", []):
                raise RuntimeError(f"rollback of step {index} failed on purpose")
            Zone.objects.filter(name=f"{ctx.job.uuid}-{index}").delete()

    Numbered.__name__ = f"Step{index}"
    return Numbered


FIVE_STEPS = Flow("test-five-steps", [_make_step(i) for i in range(5)])


class WaitForCancelOrRelease(RemoteStep, NoRollback):
    """Blocks until the test flips the job's args (via a marker zone) or cancels it; records that it
    waited (so its end is written, and a cancel is seen before the next step)."""

    def run(self, ctx):
        ctx.waited = True
        deadline = time.time() + ctx.args.get("wait_seconds", 30)
        while time.time() < deadline:
            if Zone.objects.filter(name=f"release-{ctx.job.uuid}").exists():
                return
            if Job.objects.filter(pk=ctx.job.pk, cancel_requested=True).exists():
                return
            time.sleep(0.05)


class Sleep(RemoteStep, NoRollback):
    def run(self, ctx):
        time.sleep(ctx.args.get("sleep", 0))


STEP0, STEP1 = _make_step(0), _make_step(1)
CANCELLABLE = Flow("test-cancellable", [STEP0, WaitForCancelOrRelease, _make_step(2)])
# for the SIGKILL test: step 0 leaves a zone, then the worker dies in the wait
KILLABLE = Flow("test-killable", [STEP0, WaitForCancelOrRelease, _make_step(2)])
HOLD = Flow("test-hold", [Sleep])


class CreateOnceThenFailOnce(RemoteStep):
    """Creates its zone (looking first), then fails on the first attempt only."""

    retries = 2

    def run(self, ctx):
        JOURNAL.append(("run", "create-once"))
        zone = Zone.objects.filter(name=ctx.args["zone_name"]).first()
        if zone is None:
            zone = Zone.objects.create(name=ctx.args["zone_name"])
        ctx.zone_uuid = str(zone.uuid)
        if ctx.get("attempted") is None:
            ctx.attempted = True
            raise CloudPortalError("transient failure", code="TRANSIENT")

    def rollback(self, ctx):
        Zone.objects.filter(name=ctx.args["zone_name"]).delete()


class Result(RemoteStep, NoRollback):
    def run(self, ctx):
        ctx.result = {"zone_uuid": ctx.get("zone_uuid")}


RETRYING = Flow("test-retrying", [CreateOnceThenFailOnce, Result])
NOOP = Flow("test-noop", [Result])
HANGS = Flow("test-hangs", [Sleep, Result], timeout=1)


class WorkerDied(BaseException):
    """Stands for the worker process dying mid-step (nothing after it runs in this process)."""


def _make_db_step(index):
    class InTransaction(DbStep):
        """Database work only: leaves a zone, and says in the journal what context its rollback saw."""

        name = f"tx{index}"

        def run(self, ctx):
            JOURNAL.append(("run", index))
            zone = Zone.objects.create(name=f"{ctx.job.uuid}-{index}")
            ctx.__setattr__(f"zone{index}", str(zone.uuid))
            if ctx.args.get("fail_at") == index:
                raise CloudPortalError(f"step {index} failed on purpose", code="INJECTED_FAILURE")
            if ctx.args.get("die_at") == index:
                raise WorkerDied()

        def rollback(self, ctx):
            JOURNAL.append(("rollback", index, ctx.get(f"zone{index}")))
            Zone.objects.filter(name=f"{ctx.job.uuid}-{index}").delete()

    InTransaction.__name__ = f"Tx{index}"
    return InTransaction


# steps 0-2 share one transaction, 3 is a remote step, 4 shares one with the job's end
MIXED = Flow("test-transactional", [_make_db_step(0), _make_db_step(1),
                                    _make_db_step(2), _make_step(3), _make_db_step(4)])


def _make_silent_step(index):
    class Silent(_make_step(index, puts_zone=False)):
        """Puts nothing in the context: its end need not be written on its own. ``die_after`` =
        index: the worker dies once it ran."""

        def run(self, ctx):
            super().run(ctx)
            if ctx.args.get("die_after") == index:
                raise WorkerDied()

    return Silent


EndsWithNext = _make_silent_step(0)


# step 0's end is written with the transaction of steps 1 and 2 (and the job's end)
ENDS_WITH_NEXT = Flow("test-ends-with-next", [EndsWithNext, _make_db_step(1), _make_db_step(2)])


# step 0 (its context changed) is written on its own; 1 and 2 wait for the transaction of 3
UNRECORDED = Flow("test-unrecorded", [_make_step(0), _make_silent_step(1), _make_silent_step(2),
                                      _make_db_step(3)])


class CountInTransaction(RemoteStep):
    """Remembers an argument, then makes a zone and records it in the context inside a transaction of
    its own (as an image cache reference is counted); ``fail_in_transaction``: that transaction
    fails, ``die_after``: the worker dies once it committed."""

    name = "count"

    def run(self, ctx):
        ctx.remembered = ctx.args.get("remember")
        with transaction.atomic():
            ctx.counted = str(Zone.objects.create(name=f"{ctx.job.uuid}-counted").uuid)
            if ctx.args.get("fail_in_transaction"):
                raise CloudPortalError("the count failed", code="INJECTED_FAILURE")
        if ctx.args.get("die_after") == "count":
            raise WorkerDied()

    def rollback(self, ctx):
        JOURNAL.append(("rollback", "count", ctx.get("counted")))
        if ctx.get("counted"):
            Zone.objects.filter(uuid=ctx.counted).delete()


COUNTS = Flow("test-counts", [CountInTransaction, Result])
class Touch(DbStep, NoRollback):
    def run(self, ctx):
        Zone.objects.filter(name="no-such-zone").update(description="")


SLEEPS = Flow("test-sleeps", [Sleep, Touch, Result])


class MakeAndRecord(RemoteStep):
    """Makes a zone "outside" (found by name), and records a second one for it in ``record``, in the
    transaction of the database steps after it."""

    name = "made"

    def run(self, ctx):
        JOURNAL.append(("run", "made"))
        Zone.objects.get_or_create(name=f"{ctx.job.uuid}-made")
        ctx.made = True

    def record(self, ctx):
        Zone.objects.create(name=f"{ctx.job.uuid}-recorded")

    def rollback(self, ctx):
        JOURNAL.append(("rollback", "made"))
        Zone.objects.filter(name__in=[f"{ctx.job.uuid}-made", f"{ctx.job.uuid}-recorded"]).delete()


RECORDED = Flow("test-recorded", [MakeAndRecord, _make_db_step(1)])
RECORDED_ALONE = Flow("test-recorded-alone", [MakeAndRecord, _make_step(1)])


class ReportsProgress(RemoteStep, NoRollback):
    """Reports half its work, then notes what the job's row and a lost lease make of a report."""

    def run(self, ctx):
        ctx.report_progress(40, bytes_done=4, bytes_total=8)
        row = Job.objects.get(pk=ctx.job.pk)
        JOURNAL.append(("row", row.progress, next(s.get("detail") for s in row.steps if s["name"] == "ReportsProgress")))
        if ctx.args.get("lose_lease"):
            Job.objects.filter(pk=ctx.job.pk).update(worker="the-reaper")
            ctx.report_progress(60, bytes_done=6, bytes_total=8)


REPORTS_PROGRESS = Flow("test-reports-progress", [ReportsProgress])

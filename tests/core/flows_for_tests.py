"""Flows used by the engine tests; imported by real workers too (celery --include)."""
import time

from apps.compute.models import Zone
from apps.core.errors import CloudPortalError
from apps.core.flows import Flow, NoRollback, Step
from apps.core.models import Job

JOURNAL = []  # (event, step index) for in-process runs


def _make_step(index):
    class Numbered(Step):
        name = f"step{index}"

        def run(self, ctx):
            if ctx.args.get("fail_at") == index:
                raise CloudPortalError(f"step {index} failed on purpose", code="INJECTED_FAILURE",
                                       details={"index": index})
            JOURNAL.append(("run", index))
            # leave a trace in the database that rollback must remove
            zone, _ = Zone.objects.get_or_create(name=f"{ctx.job.uuid}-{index}")
            ctx.__setattr__(f"zone{index}", str(zone.uuid))

        def rollback(self, ctx):
            JOURNAL.append(("rollback", index))
            if index in ctx.args.get("rollback_fail_at", []):
                raise RuntimeError(f"rollback of step {index} failed on purpose")
            Zone.objects.filter(name=f"{ctx.job.uuid}-{index}").delete()

    Numbered.__name__ = f"Step{index}"
    return Numbered


FIVE_STEPS = Flow("test-five-steps", [_make_step(i) for i in range(5)])


class WaitForCancelOrRelease(NoRollback):
    """Blocks until the test flips the job's args (via a marker zone) or cancels it."""

    def run(self, ctx):
        deadline = time.time() + ctx.args.get("wait_seconds", 30)
        while time.time() < deadline:
            if Zone.objects.filter(name=f"release-{ctx.job.uuid}").exists():
                return
            if Job.objects.filter(pk=ctx.job.pk, cancel_requested=True).exists():
                return
            time.sleep(0.05)


class Sleep(NoRollback):
    def run(self, ctx):
        time.sleep(ctx.args.get("sleep", 0))


STEP0, STEP1 = _make_step(0), _make_step(1)
CANCELLABLE = Flow("test-cancellable", [STEP0, WaitForCancelOrRelease, _make_step(2)])
# for the SIGKILL test: step 0 leaves a zone, then the worker dies in the wait
KILLABLE = Flow("test-killable", [STEP0, WaitForCancelOrRelease, _make_step(2)])
HOLD = Flow("test-hold", [Sleep])


class CreateOnceThenFailOnce(Step):
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


class Result(NoRollback):
    def run(self, ctx):
        ctx.result = {"zone_uuid": ctx.get("zone_uuid")}


RETRYING = Flow("test-retrying", [CreateOnceThenFailOnce, Result])
NOOP = Flow("test-noop", [Result])
HANGS = Flow("test-hangs", [Sleep, Result], timeout=1)


class WorkerDied(BaseException):
    """Stands for the worker process dying mid-step (nothing after it runs in this process)."""


def _make_transactional_step(index):
    class InTransaction(Step):
        """Database work only: leaves a zone, and says in the journal what context its rollback saw."""

        name = f"tx{index}"
        transactional = True

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


# steps 0-2 share one transaction, 3 is an ordinary step, 4 shares one with the job's end
MIXED = Flow("test-transactional", [_make_transactional_step(0), _make_transactional_step(1),
                                    _make_transactional_step(2), _make_step(3), _make_transactional_step(4)])


class EndsWithNext(_make_step(0)):
    """An ordinary step whose rollback finds its zone by name, not by what it put in the context:
    its end may be recorded by the transaction that follows it."""

    rollback_from_earlier_context = True


# step 0's end is written with the transaction of steps 1 and 2 (and the job's end)
ENDS_WITH_NEXT = Flow("test-ends-with-next", [EndsWithNext, _make_transactional_step(1), _make_transactional_step(2)])


def _make_unrecorded_step(index):
    class Unrecorded(_make_step(index)):
        """Finds its zone by name (rollback_from_earlier_context): neither its start nor its end
        needs a job write of its own. ``die_after`` = index: the worker dies once it ran."""

        rollback_from_earlier_context = True

        def run(self, ctx):
            super().run(ctx)
            if ctx.args.get("die_after") == index:
                raise WorkerDied()

    return Unrecorded


# step 0 (ordinary, context changed) is written on its own; 1 and 2 wait for the transaction of 3
UNRECORDED = Flow("test-unrecorded", [_make_step(0), _make_unrecorded_step(1), _make_unrecorded_step(2),
                                      _make_transactional_step(3)])


class Checkpoint(Step):
    """Database work that persists the context in its transaction, changing nothing in it."""

    transactional = True

    def run(self, ctx):
        ctx.checkpoint()

    def rollback(self, ctx):
        pass


class Remember(NoRollback):
    rollback_from_earlier_context = True

    def run(self, ctx):
        ctx.remembered = ctx.args.get("remember")


# Remember's key is first written by Checkpoint, in a transaction that step 2 undoes
CHECKPOINT_UNDONE = Flow("test-checkpoint-undone", [Remember, Checkpoint, _make_transactional_step(2)])
SLEEPS = Flow("test-sleeps", [Sleep, Sleep, Result])

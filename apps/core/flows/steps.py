"""What a flow declares: steps (what to do, how to undo it) of a kind, in a ``Flow``.

The kind says how the engine (``runner.py``) persists a step, so the step itself never does:

- ``DbStep`` changes the database only. Consecutive database steps run in one transaction together
  with the job write that records them: a worker dying among them leaves neither their changes
  nor a record of them, and they cost one commit.
- ``RemoteStep`` calls an agent, writes a file, anything outside the database. Its ``rollback``
  must undo what ``run`` may have done from the context the step started with, because a worker
  can die in the middle of it (or before it began); what ``run`` puts in the context is written at
  the step's end (and a key set inside a transaction of the step's own, in that transaction), so
  a step that puts nothing there costs no job write. ``record(ctx)``, when defined, writes the rows
  of what ``run`` made, in the transaction of the database steps after it.
- ``NoRollback``, with either kind: nothing to undo.

The engine rolls back a failed step too, so a step never undoes its own partial work in ``run``:
every ``rollback`` is idempotent and harmless for what ``run`` did not get to.
"""
from ..globalconfig.defaults import JOB_TIMEOUT_SECONDS

FLOWS = {}


class Step:
    """One unit of work. ``run`` does it, ``rollback`` undoes it; both must be idempotent (look
    before you create, tolerate "already gone"). Subclass a kind, ``DbStep`` or ``RemoteStep``."""

    retries = 0  # extra attempts of ``run`` after a failure
    retry_delay = 0.0

    @classmethod
    def step_name(cls):
        return getattr(cls, "name", None) or cls.__name__

    def run(self, ctx):
        raise NotImplementedError

    def rollback(self, ctx):
        raise NotImplementedError


class DbStep(Step):
    """Database only: runs in one transaction with its neighbours and the job write that records
    them. Its ``rollback`` gets the context from before it ran when that transaction was undone,
    and must then do no harm (it finds nothing of its own)."""


class RemoteStep(Step):
    """Outside the database. ``rollback`` gets the context the step started with, plus what ``run``
    put there when that reached the database before the worker stopped."""

    # ``record(self, ctx)``: the database rows of what ``run`` made, written in the transaction of
    # the next database steps (or with the job write after this step), not in one of their own.
    # Until that commits nothing says the step ran: its rollback finds what it made by name.
    record = None


class NoRollback(Step):
    """Nothing to undo (reads, checks, final state writes): ``class MarkReady(DbStep, NoRollback)``."""

    rollback = None


class Flow:
    def __init__(self, name, steps, *, action=None, timeout=None):
        """``timeout``: seconds the whole flow may run before the reaper rolls it
        back (default: global config ``job/timeout.seconds``)."""
        if name in FLOWS:
            raise ValueError(f"flow {name!r} is already registered")
        kindless = [s.step_name() for s in steps if not issubclass(s, (DbStep, RemoteStep))]
        if kindless:
            raise ValueError(f"flow {name!r}: steps must be a DbStep or a RemoteStep: {kindless}")
        retried = [s.step_name() for s in steps if issubclass(s, DbStep) and s.retries]
        if retried:  # a failed attempt would leave the shared transaction unusable
            raise ValueError(f"flow {name!r}: database steps cannot retry: {retried}")
        self.name = name
        self.steps = list(steps)
        self.action = action or name
        self.timeout = timeout
        FLOWS[name] = self

    def timeout_seconds(self):
        return float(self.timeout if self.timeout is not None else JOB_TIMEOUT_SECONDS.value())

    def __repr__(self):
        return f"Flow({self.name!r}, {[s.step_name() for s in self.steps]})"

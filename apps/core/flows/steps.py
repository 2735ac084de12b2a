"""What a flow declares: ``Step`` classes (what to do, how to undo it) and the ``Flow`` that
lists them in order. The engine that runs them is ``runner.py``."""
from ..globalconfig.defaults import JOB_TIMEOUT_SECONDS

FLOWS = {}


class Step:
    """One unit of work. ``run`` does it, ``rollback`` undoes it; both must be
    idempotent (look before you create, tolerate "already gone")."""

    retries = 0  # extra attempts of ``run`` after a failure
    retry_delay = 0.0
    # True: ``run`` only changes the database (no agent call, no file, no remote side effect), so
    # it can share a transaction with its neighbours and the job's record (see the module doc).
    # Its ``rollback`` must do nothing harmful when given the context from before it ran (that
    # is what it gets when the shared transaction was undone).
    transactional = False
    # True: ``rollback`` needs nothing ``run`` put in the context (what it made is found from the
    # args, the job's uuid or earlier steps' keys), as after a worker died in the middle of it, and
    # does no harm when ``run`` never started (it undoes what it finds: "already gone" is fine).
    # Then the engine need not write the step's start or end on its own (see ``_write_can_wait``):
    # a later write records them. If the worker dies first, the reaper rolls the step back with the
    # interrupted one before it (``_possibly_started``).
    rollback_from_earlier_context = False

    @classmethod
    def step_name(cls):
        return getattr(cls, "name", None) or cls.__name__

    def run(self, ctx):
        raise NotImplementedError

    def rollback(self, ctx):
        raise NotImplementedError


class NoRollback(Step):
    """A step with nothing to undo (reads, checks, final state writes)."""

    rollback = None


class Flow:
    def __init__(self, name, steps, *, action=None, timeout=None):
        """``timeout``: seconds the whole flow may run before the reaper rolls it
        back (default: global config ``job/timeout.seconds``)."""
        if name in FLOWS:
            raise ValueError(f"flow {name!r} is already registered")
        retried = [s.step_name() for s in steps if s.transactional and s.retries]
        if retried:  # a failed attempt would leave the shared transaction unusable
            raise ValueError(f"flow {name!r}: transactional steps cannot retry: {retried}")
        self.name = name
        self.steps = list(steps)
        self.action = action or name
        self.timeout = timeout
        FLOWS[name] = self

    def timeout_seconds(self):
        return float(self.timeout if self.timeout is not None else JOB_TIMEOUT_SECONDS.value())

    def __repr__(self):
        return f"Flow({self.name!r}, {[s.step_name() for s in self.steps]})"

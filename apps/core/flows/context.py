"""The flow context: what a job's steps share and what the reaper needs to roll it back."""
import copy
import json

from django.core.serializers.json import DjangoJSONEncoder

RELEASED = object()  # Context._memo key: the resource's claim ended by a step (resource_released)
_MISSING = object()


class Context:
    """What steps share: ``ctx.args`` (the request), anything a step records as
    ``ctx.key = value`` (JSON-able; persisted by the engine so another process can roll the job
    back), and ``ctx.job``."""

    def __init__(self, job):
        object.__setattr__(self, "job", job)
        object.__setattr__(self, "_data", dict(job.context or {}))
        object.__setattr__(self, "_memo", {})
        # the runner's ``changed(key)``, told of every key set or deleted while a step runs
        object.__setattr__(self, "_on_change", None)
        # the runner's ``progress(percent, detail)`` while a remote step runs
        object.__setattr__(self, "_on_progress", None)

    def resource_released(self):
        """Said by the flow's last step (a DbStep, so in the transaction that finishes the job)
        when it ended the job's claim on its resource (``busy_job``) in a write of its own: the
        engine then does not end it again. Forgotten when that transaction is undone (``restore``)."""
        self._memo[RELEASED] = True

    def report_progress(self, percent, **detail):
        """A long remote step says how far the job got (``percent``) and what the step did so far
        (``detail``, shown on the step); the engine writes and publishes it. Ignored outside a run."""
        if self._on_progress is not None:
            self._on_progress(percent, detail)

    def snapshot(self):
        return copy.deepcopy(self._data)

    def restore(self, data):
        """Back to ``snapshot()``'s state (after a transaction that set these keys was undone);
        the memo goes too (rows read inside that transaction may describe undone changes)."""
        object.__setattr__(self, "_data", copy.deepcopy(data))
        self._memo.clear()

    def take_back(self, keys, saved):
        """``keys`` as ``saved`` (the context the job's row holds) has them: they were set in a
        transaction that was undone."""
        for key in keys:
            if key in saved:
                self._data[key] = copy.deepcopy(saved[key])
            else:
                self._data.pop(key, None)

    def cached(self, key, load):
        """``load()`` once per run of the job in this process: the rows several steps read (a host,
        an image). Kept in memory only, never persisted; a step that changes such a row must not
        read it from here."""
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    @property
    def args(self):
        return self.job.args

    def __getattr__(self, key):
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self._data[key] = value
        if self._on_change is not None:
            self._on_change(key)

    def __delattr__(self, key):
        if self._data.pop(key, _MISSING) is not _MISSING and self._on_change is not None:
            self._on_change(key)

    def get(self, key, default=None):
        return self._data.get(key, default)

    def encoded(self):
        """The context as the JSON text the job's row holds."""
        return json.dumps(self._data, cls=DjangoJSONEncoder)



def ctx_value(ctx, key, default=None):
    """What an earlier step recorded (``ctx.<key>``), else the request's (``ctx.args[key]``).
    A plain dict works too (``{"args": {...}, ...}``), for helpers called outside a flow."""
    if isinstance(ctx, dict):
        return ctx.get(key, ctx.get("args", {}).get(key, default))
    value = ctx.get(key)
    if value is None:
        value = (getattr(ctx, "args", None) or {}).get(key, default)
    return value


def ctx_cached(ctx, key, load):
    """``load()`` once per job run (``Context.cached``: rows several steps read); with a plain
    dict instead of a flow context, every time."""
    return ctx.cached(key, load) if hasattr(ctx, "cached") else load()

"""The flow context: what a job's steps share and what the reaper needs to roll it back."""
import copy
import json

from django.core.serializers.json import DjangoJSONEncoder

RELEASED = object()  # Context._memo key: the resource's claim ended by a step (resource_released)


class Context:
    """What steps share: ``ctx.args`` (the request), anything a step records as
    ``ctx.key = value`` (JSON-able; persisted after every step so another process
    can roll back), and ``ctx.job``."""

    def __init__(self, job):
        object.__setattr__(self, "job", job)
        object.__setattr__(self, "_data", dict(job.context or {}))
        object.__setattr__(self, "_memo", {})
        object.__setattr__(self, "_checkpoint", None)

    def checkpoint(self):
        """Persist the context now, in the caller's transaction: a step that changes something and
        records it in ``ctx`` inside one ``transaction.atomic()`` block, then calls this, leaves
        either both or neither, so a worker dying between the two cannot leave a change its
        rollback does not know about (a counted reference, say). Raises ``LeaseLost`` (undoing the
        block) when the reaper took the job over. Outside a running job (tests calling a step
        directly) it does nothing."""
        if self._checkpoint is not None:
            self._checkpoint()

    def resource_released(self):
        """Said by the flow's last step (transactional, so in the transaction that finishes the job)
        when it ended the job's claim on its resource (``busy_job``) in a write of its own: the
        engine then does not end it again. Forgotten when that transaction is undone (``restore``)."""
        self._memo[RELEASED] = True

    def snapshot(self):
        return copy.deepcopy(self._data)

    def restore(self, data):
        """Back to ``snapshot()``'s state (after a transaction that set these keys was undone);
        the memo goes too (rows read inside that transaction may describe undone changes)."""
        object.__setattr__(self, "_data", copy.deepcopy(data))
        self._memo.clear()

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

    def __delattr__(self, key):
        self._data.pop(key, None)

    def get(self, key, default=None):
        return self._data.get(key, default)

    def encoded(self):
        """The context as the JSON text the job's row holds."""
        return json.dumps(self._data, cls=DjangoJSONEncoder)


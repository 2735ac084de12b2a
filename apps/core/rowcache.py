"""Configuration rows a process keeps for a second across jobs.

Every VM create reads the same few configuration rows: its image, its L3 networks (with their L2),
the clusters those L2s are attached to, the L3s' IP ranges. That is four SELECTs per VM returning
what they returned for the VM before; at tens of creates a second per worker, a worker keeps them
here instead, the way the API keeps tokens (apps.accounts.authentication.RecentTokens) and global
configs: an entry is used for at most ``ROW_CACHE_SECONDS`` (settings, default 1; 0 turns the
cache off), and any save or delete of a watched model in this process (``watch``), or a change
to a watched many-to-many relation, drops at once the entries read from it (keys are tuples
whose first item names the query; ``watch`` says which names a model feeds). A change made by
another process takes effect here within that second, as a change committed just after a flow
read the row would.

Writes that send no signal (``QuerySet.update``) call ``forget(name)`` themselves.

What is handed out is a shallow copy of the kept row, so a caller setting an attribute on its
row does not change another job's; related rows (an L3's L2) are shared and must not be changed.
Rows that hold capacity or state that flows change (hosts, primary storage refs, addresses) do
not belong here: their figures must be read fresh.
"""
import copy
import threading
import time

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

_entries = {}
_lock = threading.Lock()
clock = time.monotonic
MAX_ENTRIES = 10_000


def ttl():
    return float(getattr(settings, "ROW_CACHE_SECONDS", 1.0))


def get(key, load):
    """The kept value of ``key`` (a tuple naming the query and its arguments) while it is younger
    than ``ttl()``; else ``load()``, kept unless it is None (a row not found is looked for again).
    A value is a model instance, a list of them or a plain value (a set of ids): instances are
    handed out as copies."""
    seconds = ttl()
    if seconds <= 0:
        return load()
    entry = _entries.get(key)
    now = clock()
    if entry is not None and now - entry[1] < seconds:
        return _copy(entry[0])
    value = load()
    if value is None:
        return None
    with _lock:
        if len(_entries) >= MAX_ENTRIES:  # many distinct keys: drop the lot rather than grow
            _entries.clear()
        _entries[key] = (value, now)
    return _copy(value)


def _copy(value):
    if isinstance(value, list):
        return [copy.copy(item) for item in value]
    if isinstance(value, (set, frozenset, tuple, str, int, type(None))):
        return value
    return copy.copy(value)


def forget(*names):
    """Drop the entries whose key starts with one of ``names`` (all of them without names)."""
    with _lock:
        if not names:
            _entries.clear()
            return
        for key in [key for key in _entries if key[0] in names]:
            del _entries[key]


_receivers = []  # the signal receivers made by watch(), kept alive (signals hold weak references)


def watch(*models, names, relations=(), when=None):
    """Drop the entries named ``names`` whenever a row of ``models`` is saved or deleted, or a link
    of the many-to-many ``relations`` (their ``through`` models) changes, in this process.
    ``when(row)``: only for the saved or deleted rows it says True of."""
    names = tuple(names)

    def receiver(instance=None, **kwargs):
        if when is None or "pk_set" in kwargs or when(instance):
            forget(*names)

    _receivers.append(receiver)
    for model in models:
        post_save.connect(receiver, sender=model, dispatch_uid=f"rowcache-save-{model._meta.label}-{names}")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"rowcache-delete-{model._meta.label}-{names}")
    for through in relations:
        m2m_changed.connect(receiver, sender=through, dispatch_uid=f"rowcache-m2m-{through._meta.label}-{names}")

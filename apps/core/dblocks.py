"""Lock conflicts that MariaDB resolves by undoing a statement or a transaction.

InnoDB answers some races with an error rather than a wait: a deadlock (1213) undoes the whole
transaction of one party, a lock wait timeout (1205) the statement. Some are not avoidable by lock
order: two INSERTs of the same unique key over a row deleted a moment ago (its index entry is
still there, delete-marked, until purge) both take a shared lock on that entry, then both wait
for the other to insert; InnoDB undoes one of them (seen in CI with image caches).

The right answer is to do the work again, but only where the undone work is all ours: inside an
outer transaction, a deadlock has undone the caller's statements too (savepoints included), and
only the owner of the outermost transaction can start over. ``retrying`` therefore repeats
``fn`` only when it runs outside any transaction, and lets the error go up otherwise.
"""
import random
import time

from django.db import OperationalError, connections, router

DEADLOCK = 1213           # "Deadlock found when trying to get lock; try restarting transaction"
LOCK_WAIT_TIMEOUT = 1205  # "Lock wait timeout exceeded; try restarting transaction"
ATTEMPTS = 5


def is_deadlock(exc):
    return isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] == DEADLOCK


def is_lock_conflict(exc):
    """A deadlock or a lock wait timeout: the same work may well succeed if done again."""
    return isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] in (DEADLOCK, LOCK_WAIT_TIMEOUT)


def outside_transactions(model=None, using=None):
    """True when the connection for ``model`` (or ``using``) is in no atomic block: a deadlock
    there undid only the statement or transaction just tried."""
    alias = using or (router.db_for_write(model) if model is not None else "default")
    return not connections[alias].in_atomic_block


def pause(attempt):
    """A short random wait before the next attempt, longer each time, so racers spread out."""
    time.sleep(random.uniform(0.001, 0.01 * attempt))


def retrying(fn, model=None, attempts=ATTEMPTS):
    """``fn()``, done again (up to ``attempts`` times in all) when a lock conflict undid it and it
    ran outside any transaction. ``fn`` opens its own ``transaction.atomic()`` when it writes
    more than one statement."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            if not is_lock_conflict(exc) or not outside_transactions(model) or attempt == attempts:
                raise
            pause(attempt)

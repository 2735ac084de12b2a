"""apps/core/dblocks: work undone by a lock conflict is done again only when it was all the caller's."""
import pytest
from django.db import IntegrityError, OperationalError, transaction

from apps.core import dblocks


def _failing(times, error):
    calls = []

    def work():
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return work, calls


@pytest.mark.parametrize("code", [dblocks.DEADLOCK, dblocks.LOCK_WAIT_TIMEOUT])
def test_a_lock_conflict_outside_a_transaction_is_tried_again(code):
    work, calls = _failing(2, OperationalError(code, "try restarting transaction"))
    assert dblocks.retrying(work) == "done"
    assert len(calls) == 3


def test_it_gives_up_after_its_attempts():
    work, calls = _failing(10, OperationalError(dblocks.DEADLOCK, "Deadlock found"))
    with pytest.raises(OperationalError):
        dblocks.retrying(work, attempts=3)
    assert len(calls) == 3


@pytest.mark.parametrize("error", [OperationalError(2006, "MySQL server has gone away"), IntegrityError(1062, "dup")])
def test_other_errors_are_not_retried(error):
    work, calls = _failing(1, error)
    with pytest.raises(type(error)):
        dblocks.retrying(work)
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_inside_the_callers_transaction_goes_up_at_once():
    """InnoDB undid the caller's statements too: only the owner of the transaction can start over."""
    work, calls = _failing(1, OperationalError(dblocks.DEADLOCK, "Deadlock found"))
    with pytest.raises(OperationalError):
        with transaction.atomic():
            dblocks.retrying(work)
    assert len(calls) == 1

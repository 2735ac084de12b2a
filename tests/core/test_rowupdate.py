"""apps/core/rowupdate.update_row: by primary key, the lock order that keeps a job's writers from
deadlocking (MariaDB), and the retry of a deadlocked statement outside a transaction."""
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from apps.core import rowupdate
from apps.core.models import Job
from apps.core.rowupdate import update_row
from tests.dbsessions import in_thread, other_session, wait_until_busy

pytestmark = pytest.mark.django_db(transaction=True)


def _job(**fields):
    return Job.objects.create(flow="test", action="test", steps=[], args={}, context={}, **fields)


@pytest.mark.skipif(connection.vendor != "mysql", reason="InnoDB lock order (DATABASE_URL=mysql://)")
def test_a_lease_renewal_waits_for_a_finishing_worker_instead_of_deadlocking():
    """What the lease keeper and the worker finishing the same job did: the renewal (conditions on
    id, state and worker) reached the row through the (state, lease) index and locked that entry,
    then waited for the primary record the finishing UPDATE held, which then needed that entry."""
    now = timezone.now()
    for _ in range(2):
        _job(state="succeeded", worker="other")
    job = _job(state="running", worker="w", lease_expires_at=now)
    finisher = other_session()
    try:
        cursor = finisher.cursor()
        cursor.execute("START TRANSACTION")
        cursor.execute("SELECT id FROM core_job WHERE id = %s FOR UPDATE", [job.pk])  # the primary record
        renewal, outcome = in_thread(lambda: update_row(Job, {"id": job.pk, "state": "running", "worker": "w"},
                                                        {"lease_expires_at": now + timedelta(seconds=60)}))
        assert wait_until_busy(finisher, "UPDATE `core_job`"), ("the renewal should be waiting", outcome)
        cursor.execute("UPDATE core_job SET state = 'succeeded', lease_expires_at = NULL WHERE id = %s", [job.pk])
        cursor.execute("COMMIT")
        renewal.join(timeout=30)
    finally:
        finisher.close()
    assert "error" not in outcome, outcome
    assert outcome["result"] == 0   # it found the job finished and left it so
    job.refresh_from_db()
    assert job.state == "succeeded" and job.lease_expires_at is None


def _deadlock_once(monkeypatch):
    calls = []
    execute = CursorWrapper.execute

    def deadlocking(self, sql, params=None):
        if sql.startswith("UPDATE"):
            calls.append(sql)
            if len(calls) == 1:
                raise OperationalError(rowupdate.DEADLOCK, "Deadlock found when trying to get lock")
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", deadlocking)
    return calls


def test_a_deadlocked_update_outside_a_transaction_is_tried_again(monkeypatch):
    job = _job(state="running", worker="w")
    calls = _deadlock_once(monkeypatch)
    assert update_row(Job, {"id": job.pk, "worker": "w"}, {"progress": 50}) == 1
    assert len(calls) == 2
    job.refresh_from_db()
    assert job.progress == 50


def test_a_deadlock_inside_a_transaction_is_left_to_its_owner(monkeypatch):
    """InnoDB undid the whole transaction: repeating only the last statement would be wrong."""
    job = _job(state="running", worker="w")
    calls = _deadlock_once(monkeypatch)
    with pytest.raises(OperationalError):
        with transaction.atomic():
            update_row(Job, {"id": job.pk, "worker": "w"}, {"progress": 50})
    assert len(calls) == 1

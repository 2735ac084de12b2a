"""The MariaDB backend begins atomic blocks with START TRANSACTION (apps/core/backends/mysql)."""
import pytest
from django.db import connection, transaction

from apps.compute.models import Zone

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "mysql", reason="the MariaDB backend (DATABASE_URL=mysql://)"),
]


def _status():
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Com_set_option', 'Com_begin', 'Com_commit',"
                       " 'Com_rollback')")
        return {name: int(value) for name, value in cursor.fetchall()}


def _count_elsewhere(name):
    """What another session sees (committed rows only)."""
    import MySQLdb

    params = connection.get_connection_params()
    other = MySQLdb.connect(**params)
    try:
        cursor = other.cursor()
        cursor.execute("SELECT COUNT(*) FROM compute_zone WHERE name = %s", [name])
        return cursor.fetchone()[0]
    finally:
        other.close()


def test_an_atomic_block_is_one_start_transaction_and_one_commit_without_autocommit_switches():
    Zone.objects.create(name="warm-up")  # the connection's own set-up is not counted
    before = _status()
    with transaction.atomic():
        Zone.objects.create(name="in-a-block")
    after = _status()
    delta = {name: after[name] - before[name] for name in before}
    assert delta == {"Com_set_option": 0, "Com_begin": 1, "Com_commit": 1, "Com_rollback": 0}
    assert _count_elsewhere("in-a-block") == 1


def test_a_failed_block_rolls_back_and_the_session_is_in_autocommit_after_it():
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Zone.objects.create(name="undone")
            assert _count_elsewhere("undone") == 0  # not visible before the commit
            raise RuntimeError
    assert not Zone.objects.filter(name="undone").exists()
    Zone.objects.create(name="autocommitted")  # outside any block: committed at once
    assert _count_elsewhere("autocommitted") == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@autocommit")
        assert cursor.fetchone()[0] == 1


def test_turning_autocommit_off_by_hand_still_switches_the_session():
    connection.set_autocommit(False)
    try:
        Zone.objects.create(name="manual")
        assert _count_elsewhere("manual") == 0
        connection.commit()
        assert _count_elsewhere("manual") == 1
    finally:
        connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@autocommit")
        assert cursor.fetchone()[0] == 1

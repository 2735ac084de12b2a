"""The MariaDB backend begins atomic blocks with START TRANSACTION (apps/core/backends/mysql)."""
import pytest
from django.db import connection, transaction

from apps.infra.models import Zone

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


@pytest.fixture
def health_checked(monkeypatch):
    """The default connection with health checks on (as the web's request threads and the workers
    have them); yields the list of the pings it sends."""
    from apps.core.backends.mysql.base import DatabaseWrapper

    pings = []
    real = DatabaseWrapper.is_usable
    monkeypatch.setattr(DatabaseWrapper, "is_usable", lambda self: pings.append(1) or real(self))
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # kept between requests
    connection.close()
    connection.ensure_connection()
    yield pings
    connection.close()  # the next test connects with the settings it has


def _next_request():
    """What Django does between two requests (and the workers between two tasks)."""
    connection.close_if_unusable_or_obsolete()


def _connection_id():
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]


def test_a_connection_used_a_moment_ago_is_not_pinged_again(health_checked):
    first = _connection_id()
    _next_request()
    assert _connection_id() == first
    assert health_checked == []  # Django's check alone pings before every request's first query


def test_a_connection_idle_longer_than_the_grace_is_pinged_and_a_dead_one_replaced(health_checked):
    from apps.core.backends.mysql import base as backend

    first = _connection_id()
    _next_request()
    connection.used_at -= backend.HEALTH_CHECK_GRACE_SECONDS + 1  # as if idle since
    assert _connection_id() == first
    assert health_checked == [1]

    import MySQLdb

    killer = MySQLdb.connect(**connection.get_connection_params())
    try:
        killer.cursor().execute(f"KILL CONNECTION {first}")
    finally:
        killer.close()
    _next_request()
    connection.used_at -= backend.HEALTH_CHECK_GRACE_SECONDS + 1  # as if idle since
    assert _connection_id() != first  # the ping found it dead: a new connection, no error
    assert health_checked == [1, 1]


def test_a_connection_that_failed_is_checked_whatever_its_age(health_checked):
    first = _connection_id()
    connection.errors_occurred = True  # what Django sets when a statement hit a connection error
    _next_request()   # Django pings it here and keeps it (alive)
    assert health_checked == [1]
    assert _connection_id() == first
    connection.errors_occurred = True
    connection.health_check_done = False
    assert _connection_id() == first
    assert health_checked == [1, 1]  # pinged before the query, however recent its last use
    connection.errors_occurred = False

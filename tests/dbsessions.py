"""A second MariaDB session, for tests that pin down the order in which statements take locks."""
import threading
import time

from django.db import connections


def other_session():
    """A raw connection of its own (not Django's) to the test database."""
    import MySQLdb

    return MySQLdb.connect(**connections["default"].get_connection_params())


def wait_until_busy(session, statement_start, timeout=10, sessions=1):
    """Until some session (``sessions`` of them) runs a statement beginning with ``statement_start``
    (in these tests: one blocked on a lock ``session`` holds), then a moment more to be well into
    its wait; True if seen."""
    cursor = session.cursor()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE info LIKE %s",
                       [statement_start + "%"])
        if cursor.fetchone()[0] >= sessions:
            time.sleep(0.2)
            return True
        time.sleep(0.02)
    return False


def in_thread(call):
    """Start ``call()`` on a thread of its own (its own Django connection, closed at the end); the
    thread and a dict that gets ``result`` or ``error`` when it ends."""
    outcome = {}

    def run():
        try:
            outcome["result"] = call()
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome

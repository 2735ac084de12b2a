"""MariaDB/MySQL as Django's own backend, but a ``transaction.atomic()`` block begins with
``START TRANSACTION`` instead of switching the session's autocommit off and on again.

Django's MySQL backend opens every outermost atomic block with ``SET autocommit=0`` and closes
it with ``COMMIT`` then ``SET autocommit=1``: three round trips, two of them bookkeeping. The flow
engine runs its database-only steps in such blocks (several per VM created), so on a busy portal
those ``SET`` statements were about a quarter of everything MariaDB was asked. Here the block
sends ``START TRANSACTION``; its ``COMMIT`` or ``ROLLBACK`` ends it and the session is back in
autocommit, so nothing needs switching back. Code that turns autocommit off by itself
(``connection.set_autocommit(False)``) still gets a real ``SET autocommit=0``; the backend
remembers what the server session is in and only sends what changes it.

It also skips the health check (``CONN_HEALTH_CHECKS``: a ping before the first query of each
request or task) when the connection was used within ``HEALTH_CHECK_GRACE_SECONDS`` with no error
since: under load a connection serves request after request, and every one of them paid a round
trip to learn what the previous one had just shown. A connection idle for longer is pinged as
before (and replaced when it is dead); one that failed is checked whatever its age.

settings.py selects this backend for ``mysql://`` database URLs.
"""
import time

from django.db.backends.mysql import base

# seconds after its last use in which a connection is taken as alive without a ping
HEALTH_CHECK_GRACE_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    used_at = float("-inf")  # monotonic time this wrapper last made a cursor on its connection

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.cloudportal_autocommit = None  # unknown until set
        return connection

    def create_cursor(self, name=None):
        self.used_at = time.monotonic()
        return super().create_cursor(name)

    def close_if_health_check_failed(self):
        if (self.connection is not None and self.health_check_enabled and not self.health_check_done
                and not self.errors_occurred and time.monotonic() - self.used_at < HEALTH_CHECK_GRACE_SECONDS):
            self.health_check_done = True  # used a moment ago without an error: alive
            return
        super().close_if_health_check_failed()

    def _start_transaction_under_autocommit(self):
        """Called by Django for an outermost atomic block (see BaseDatabaseWrapper.set_autocommit)."""
        if self.connection.cloudportal_autocommit is not True:
            self._set_autocommit(True)  # START TRANSACTION is only this cheap from autocommit
        with self.wrap_database_errors:
            self.connection.query("START TRANSACTION")

    def _set_autocommit(self, autocommit):
        if self.connection.cloudportal_autocommit is autocommit:
            return  # the session is in that mode already (after START TRANSACTION ... COMMIT)
        super()._set_autocommit(autocommit)
        self.connection.cloudportal_autocommit = autocommit

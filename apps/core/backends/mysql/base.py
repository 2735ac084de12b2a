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

settings.py selects this backend for ``mysql://`` database URLs.
"""
from django.db.backends.mysql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.cloudportal_autocommit = None  # unknown until set
        return connection

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

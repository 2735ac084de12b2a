"""One UPDATE of one table by equality conditions, without building a QuerySet.

The flow engine writes a job's progress after every step (and claims, renews and finishes
jobs): on a busy portal these are the most frequent statements there are, and building and
compiling a QuerySet for each costs several times what the database spends on it. Here the SQL
text is made once per (model, condition fields, updated fields) and kept; the values go through
each field's own ``get_db_prep_save`` / ``get_db_prep_value`` (JSON, datetimes, UUIDs as the
ORM would send them). Only for plain ``column = value`` conditions; anything else uses the ORM.

Lock order. When the conditions include the primary key, MariaDB is told to reach the row by it
(``FORCE INDEX (PRIMARY)``). Left to itself, on a small table, it may reach the row through a
secondary index that also covers the other conditions (a job's state and lease) and lock that
index entry first, while a concurrent UPDATE of the same row locks the primary record first and
then the same entry: a deadlock (seen between a worker finishing a job and its lease renewal).
Reached by the primary key, every such UPDATE locks in the same order and simply waits. A
deadlock outside a transaction (the statement alone was undone) is tried again, twice.
"""
from django.db import OperationalError, connections, router

from .dblocks import DEADLOCK, is_deadlock, pause  # noqa: F401 - DEADLOCK: for tests

_SQL = {}
ATTEMPTS = 3


class Encoded:
    """A value already in the form the database takes (JSON text made once by the caller): sent
    as it is instead of through the field's ``get_db_prep_save``."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _sql(model, where, values, connection):
    key = (connection.alias, model, tuple(where), tuple(values))
    sql = _SQL.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        meta = model._meta
        assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in values)
        conditions = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in where)
        by_key = meta.pk.name in where or meta.pk.attname in where
        hint = " FORCE INDEX (PRIMARY)" if by_key and connection.vendor == "mysql" else ""
        sql = _SQL[key] = f"UPDATE {quote(meta.db_table)}{hint} SET {assignments} WHERE {conditions}"
    return sql


def update_row(model, where, values):
    """``UPDATE <model's table> SET <values> WHERE <where>`` (every condition ``field = value``,
    none of them None); returns how many rows matched, as ``QuerySet.update`` does. A value
    wrapped in ``Encoded`` goes to the database as it is."""
    if not values:
        raise ValueError("nothing to update")
    if any(value is None for value in where.values()):
        raise ValueError("update_row conditions cannot be None (IS NULL): use the ORM")
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    params = [value.value if isinstance(value, Encoded) else meta.get_field(name).get_db_prep_save(value, connection)
              for name, value in values.items()]
    params += [meta.get_field(name).get_db_prep_value(value, connection, prepared=False)
               for name, value in where.items()]
    sql = _sql(model, where, values, connection)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.rowcount
        except OperationalError as exc:
            # inside a transaction the deadlock undid all of it: only its owner can start over
            if not is_deadlock(exc) or connection.in_atomic_block or attempt == ATTEMPTS:
                raise
            pause(attempt)

"""Queries whose SQL is made once per shape and then run with new values (inside core).

Building a QuerySet and compiling it costs far more Python than the database spends running it.
The hottest queries of the busy paths (placing a VM, reserving its capacity, loading a row by
uuid) are built once with ``Param`` where the values go; the first run of a shape compiles it
with the ORM as usual and keeps the SQL text with a slot per ``Param``; later runs bind the new
values (through each Param's field, as the ORM would prepare them) and go straight to the cursor.
Apps reach this through ``apps.core.models.querysets`` (``get``, ``create``, ``save``,
``@compiled``); core's own code may call it directly:

    p = Params()
    by_uuid = p("uuid", host_uuid, Host._meta.get_field("uuid"))   # before build(), every time
    hosts = select(Host, ("host-by-uuid",), lambda: Host.objects.filter(uuid=by_uuid), p)

``build()`` runs only when the shape is compiled, so the Params are made outside it, on every
run: they carry the values to bind. A Param compared with a column (``uuid=``, ``pk__in=``) or
assigned to one is bound through that column's field (``type_by_columns``).

The key names the shape: everything about the SQL that is not a Param (which filters, which
tables, how many values in an IN list). Values that never change (a state name) may stay
literals: they are kept with the SQL. The Params' names are added to the key, so two shapes
that differ only in which values they take cannot share SQL by mistake; anything else that
changes the SQL must be in the key. With ``settings.PREPARED_QUERIES_CHECK`` (on in the tests)
every run also builds the query and checks that its SQL is the kept one.

A ``Param`` outside a prepared run (a query run by the ORM itself) is simply its value.
"""
import contextvars
import datetime
import threading
import uuid as uuid_lib

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import Expression, signals
from django.db.models.constants import OnConflict
from django.db.models.expressions import ExpressionList
from django.db.models.lookups import Lookup
from django.db.models.query import QuerySet, get_related_populators
from django.db.models.sql import Query, UpdateQuery
from django.db.models.sql.where import WhereNode
from django.db.transaction import TransactionManagementError

from .rowupdate import update_row

_PREPARING = contextvars.ContextVar("prepared_query_compiling", default=False)
_KEPT = {}
_INSERTS = {}
_LOCK = threading.Lock()


# Fields for a Param's value when no model field fits (the third argument of ``p(...)``): made
# once and shared, as they only convert values, and a Django field is slow to make.
FLOAT, INTEGER, BIG_INTEGER, TEXT = models.FloatField(), models.IntegerField(), models.BigIntegerField(), models.CharField()
# the field of a value by its Python type (``param_of``), until a lookup gives it its column's
TYPED = {bool: models.BooleanField(), int: BIG_INTEGER, float: FLOAT, str: TEXT, uuid_lib.UUID: models.UUIDField(),
         datetime.datetime: models.DateTimeField(), datetime.date: models.DateField()}
_ANY = models.Field()   # values of another type go to the database as they are


class _Slot:
    """Where a Param's value goes in kept SQL's parameters."""

    __slots__ = ("name", "field")

    def __init__(self, name, field):
        self.name, self.field = name, field


class Param(Expression):
    """A value of a prepared query: a placeholder in the kept SQL, its value otherwise.

    Bound through ``bind_field``: its own field, or, once the query is built, the field of the
    column a lookup compares it with (``uuid=``, ``pk__in=``), as the ORM binds a plain value."""

    def __init__(self, name, value, output_field):
        super().__init__(output_field=output_field)
        self.name, self.value = name, value
        self.bind_field = output_field

    def __repr__(self):
        return f"Param({self.name!r})"

    def as_sql(self, compiler, connection):
        field = self.bind_field
        if _PREPARING.get():
            return "%s", [_Slot(self.name, field)]
        return "%s", [field.get_db_prep_value(self.value, connection, prepared=False)]


def param_of(params, name, value):
    """A Param for ``value`` typed by its Python type (a model instance: its primary key).
    Compared with a column, it is bound as that column's value (``type_by_columns``)."""
    if isinstance(value, models.Model):
        return params(name, value.pk, type(value)._meta.pk)
    return params(name, value, TYPED.get(type(value), _ANY))


def type_by_columns(query):
    """Give every Param that ``query`` (a Query, an UpdateQuery) compares with a column, or assigns
    to one, that column's field to be bound through."""
    if isinstance(query, UpdateQuery):
        for field, _model, value in query.values:
            if isinstance(value, Param):
                value.bind_field = field
            else:
                _walk(value)
    _walk(query)


def _walk(node):
    if isinstance(node, Query):
        _walk(node.where)
        for annotation in node.annotations.values():
            _walk(annotation)
    elif isinstance(node, WhereNode):
        for child in node.children:
            _walk(child)
    elif isinstance(node, Lookup):
        field = getattr(node.lhs, "output_field", None)
        rhs = node.rhs
        items = rhs.get_source_expressions() if isinstance(rhs, ExpressionList) else (
            rhs if isinstance(rhs, (list, tuple)) else [rhs])
        for item in items:
            if isinstance(item, Param) and field is not None:
                item.bind_field = field
            else:
                _walk(item)
        _walk(node.lhs)
    elif hasattr(node, "get_source_expressions"):
        for source in node.get_source_expressions():
            _walk(source)


class Params:
    """The values of one run of a prepared query, by name, in the order they were given."""

    def __init__(self):
        self.values = {}

    def __call__(self, name, value, output_field):
        """A Param named ``name`` (unique in the query) holding ``value``."""
        if name in self.values:
            raise ValueError(f"prepared query parameter {name!r} given twice")
        self.values[name] = value
        return Param(name, value, output_field)

    def copy(self):
        """Params holding the same values, for one more query made of the same conditions."""
        copy = Params()
        copy.values.update(self.values)
        return copy

    def many(self, name, values, output_field):
        """Params for an IN list: ``name_0``, ``name_1``... (their number is part of the shape)."""
        return [self(f"{name}_{index}", value, output_field) for index, value in enumerate(values)]


class _Kept:
    """Compiled SQL with its slots; for a SELECT also how to turn rows into model instances.

    ``kind``: "select" (a list), "get", "first" or "update" (a row count): what a run answers."""

    def __init__(self, compiler, sql, params, kind="select"):
        self.compiler, self.sql, self.params, self.kind = compiler, sql, params, kind
        self.populators = None
        self.converters = None  # (the select's converters, the select_related populators)

    def bind(self, values, connection):
        return [p.field.get_db_prep_value(values[p.name], connection, prepared=False) if isinstance(p, _Slot)
                else p for p in self.params]


class Built:
    """What a query method gives while its query is being built for a prepared run, instead of
    running it (``apps.core.models.querysets``): "get", "first" or "update" of ``queryset``."""

    def __init__(self, kind, queryset, values=None):
        self.kind, self.queryset, self.values = kind, queryset, values


def _compiler_of(built, alias=None):
    """(compiler, kind) for a QuerySet (a select) or a ``Built``; Params typed by their columns."""
    if isinstance(built, QuerySet):
        built = Built("select", built)
    queryset, kind = built.queryset, built.kind
    if kind == "update":
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(built.values)
        type_by_columns(query)
        return query.get_compiler(using=alias or router.db_for_write(queryset.model)), kind
    if kind == "get":
        queryset = queryset.order_by()[:2]
    elif kind == "first":
        queryset = (queryset if queryset.ordered else queryset.order_by("pk"))[:1]
    type_by_columns(queryset.query)
    return queryset.query.get_compiler(using=alias or queryset.db), kind


def _compile(compiler, kind="select"):
    token = _PREPARING.set(True)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a shape that can match nothing (an empty IN list): no SQL to run
        sql, params = None, []
    finally:
        _PREPARING.reset(token)
    return _Kept(compiler, sql, params, kind)


def _kept(key, make_compiler):
    """The kept SQL of ``key``; compiled now on first use, and on every use when checking.
    ``make_compiler()``: a compiler, or (compiler, kind)."""
    kept = _KEPT.get(key)
    if kept is None or getattr(settings, "PREPARED_QUERIES_CHECK", False):
        made = make_compiler()
        fresh = _compile(*made) if isinstance(made, tuple) else _compile(made)
        slots = [param.name for param in fresh.params if isinstance(param, _Slot)]
        if not set(slots) <= set(key[-1]):
            raise ValueError(f"prepared query {key!r}: Params {slots} were made inside build(); make them "
                             "before, so that every run binds them")
        if kept is not None and _signature(fresh) != _signature(kept):
            raise AssertionError(f"prepared query {key!r} changed shape without a new key:\n{kept.sql}\n{fresh.sql}")
        if kept is None:
            with _LOCK:
                kept = _KEPT.setdefault(key, fresh)
    return kept


def _signature(kept):
    """The SQL and what goes in each placeholder (a slot's name and field type, or a literal)."""
    return kept.kind, kept.sql, [("slot", p.name, type(p.field)) if isinstance(p, _Slot) else ("value", p)
                                 for p in kept.params]


def run(model, key, build, params):
    """What ``build()`` makes, run with the SQL kept for ``key`` and the values of ``params``:
    a QuerySet gives its rows (a list), a ``Built`` get its row (DoesNotExist and
    MultipleObjectsReturned as the ORM raises them), first its row or None, update how many rows
    matched. ``key`` names everything about the SQL that is not a Param; the Params' names are
    added to it."""
    full_key = ("run", model, key, tuple(params.values))
    kept = _kept(full_key, lambda: _compiler_of(build()))
    if kept.kind == "update":
        return _update_rows(kept, params)
    rows = _select_rows(kept, params)
    if kept.kind == "get":
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise model.MultipleObjectsReturned(f"get() returned more than one {model._meta.object_name}")
        return rows[0]
    if kept.kind == "first":
        return rows[0] if rows else None
    return rows


def select(model, key, build, params):
    """The ``model`` instances of ``build()`` (a QuerySet with Params from ``params``), as a list.

    Plain ``filter``/``exclude``/``select_related``/``defer``/``annotate``/``order_by``/slicing
    shapes; no ``prefetch_related`` or ``values()``."""
    alias = router.db_for_read(model)
    full_key = ("select", alias, model, key, tuple(params.values))
    kept = _kept(full_key, lambda: _compiler_of(build(), alias))
    return _select_rows(kept, params)


def _select_rows(kept, params):
    if kept.sql is None:
        return []
    compiler = kept.compiler
    alias = compiler.using
    connection = connections[alias]
    if compiler.query.select_for_update and connection.features.has_select_for_update \
            and connection.get_autocommit() and connection.features.supports_transactions:
        # what compiling it would have said (the kept SQL is not compiled again)
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(kept.sql, kept.bind(params.values, connection))
        rows = cursor.fetchall()
    if not rows:
        return []
    select_, klass_info = compiler.select, compiler.klass_info
    if kept.populators is None:
        fields = klass_info["select_fields"]
        kept.populators = (
            klass_info["model"], fields[0], fields[-1] + 1,
            [f[0].target.attname for f in select_[fields[0]:fields[-1] + 1]],
        )
    model_cls, start, end, init_list = kept.populators
    if kept.converters is None:
        # what results_iter() and the ORM's iterator work out for every run, once: the converters
        # (datetimes, JSON, secrets) read settings off the connection the shape was compiled on,
        # maybe another thread's (its timezone and features, never a cursor of it); the related
        # populators keep no state between rows
        kept.converters = (compiler.get_converters([s[0] for s in select_[:compiler.col_count]]),
                           get_related_populators(klass_info, select_, alias))
    converters, related = kept.converters
    annotations = compiler.annotation_col_map.items()
    found = []
    for row in compiler.apply_converters(rows, converters) if converters else rows:
        obj = model_cls.from_db(alias, init_list, row[start:end])
        for populator in related:
            populator.populate(row, obj)
        for name, position in annotations:
            setattr(obj, name, row[position])
        found.append(obj)
    return found


def _by_fields(model, kind, lookups, select_related, limit):
    """Rows of ``model`` whose fields equal ``lookups`` (by field name or attname; a model
    instance for a foreign key), through a prepared query keyed by the fields' names."""
    p = Params()
    conditions = {}
    for name, value in lookups.items():
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        if field.is_relation and isinstance(value, models.Model):
            name, value, field = field.attname, value.pk, field.target_field
        elif field.is_relation:
            name, field = field.attname, field.target_field
        conditions[name] = p(name, value, field)
    key = (kind, tuple(select_related))

    def build():
        queryset = model._default_manager.filter(**conditions)
        if select_related:
            queryset = queryset.select_related(*select_related)
        return queryset.order_by("pk")[:limit] if kind == "first" else queryset[:limit]

    return select(model, key, build, p)


def get(model, *, select_related=(), **lookups):
    """``model.objects.get(**lookups)`` (plain equality lookups) through a prepared query:
    DoesNotExist and MultipleObjectsReturned as the ORM raises them."""
    rows = _by_fields(model, "get", lookups, tuple(select_related), 2)
    if not rows:
        raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
    if len(rows) > 1:
        raise model.MultipleObjectsReturned(f"get() returned more than one {model._meta.object_name}")
    return rows[0]


def first(model, *, select_related=(), **lookups):
    """``model.objects.filter(**lookups).order_by("pk").first()`` through a prepared query."""
    rows = _by_fields(model, "first", lookups, tuple(select_related), 1)
    return rows[0] if rows else None


def _plain_shape(queryset):
    """What a queryset adds to its model's rows when it is plain enough for ``plain_get``: its
    ``select_related`` paths and FOR UPDATE; None otherwise (filters, annotations, values(),
    prefetches, another database, a slice, ...)."""
    query = queryset.query
    if (queryset._db is not None or queryset._fields is not None or queryset._prefetch_related_lookups
            or queryset._known_related_objects or queryset._hints or query.where or query.annotations
            or query.extra or query.distinct or query.combinator or query.group_by is not None
            or query.low_mark or query.high_mark is not None or query.deferred_loading[0]
            or len(query.alias_map) > 1 or not query.default_cols or query.select_related is True
            or query.select_for_update_nowait or query.select_for_update_skip_locked
            or query.select_for_update_of or query.select_for_no_key_update):
        return None
    paths = []

    def walk(tree, prefix):
        for name, below in tree.items():
            paths.append(prefix + name)
            walk(below, prefix + name + "__")

    walk(query.select_related or {}, "")
    return tuple(paths), bool(query.select_for_update)


def plain_get(queryset, lookups, model=None):
    """``queryset.get(**lookups)`` through a prepared query when ``queryset`` is its model's rows
    as they are (``select_related`` and ``select_for_update`` allowed) and every lookup is a plain
    equality with a value (not None, not an expression); NotImplemented otherwise. ``queryset``
    may be a function making it, with ``model``: a model's own manager needs no QuerySet to run
    SQL it has kept."""
    if model is None:
        shape = _plain_shape(queryset)
        if shape is None:
            return NotImplemented
        model, make = queryset.model, lambda: queryset
    else:
        shape, make = ((), False), queryset
    columns = _equal_columns(model, tuple(lookups))
    if columns is None:
        return NotImplemented
    p = Params()
    for (name, field), value in zip(columns, lookups.values()):
        if value is None or hasattr(value, "resolve_expression"):
            return NotImplemented
        p.values[name] = value.pk if isinstance(value, models.Model) else value

    def build():
        conditions = {name: Param(name, p.values[name], field) for name, field in columns}
        return Built("get", make().filter(**conditions))

    return run(model, ("get",) + shape, build, p)


_COLUMNS = {}


def _equal_columns(model, names):
    """``[(attname, field)]`` for equality lookups ``names`` of ``model`` (a foreign key by its
    column, compared as its target); None when one is not a plain column of the model."""
    key = (model, names)
    found = _COLUMNS.get(key, False)
    if found is False:
        meta = model._meta
        found = []
        for name in names:
            try:
                field = meta.pk if name == "pk" else meta.get_field(name)
            except FieldDoesNotExist:
                found = None
                break
            if "__" in name or not field.concrete or field.many_to_many:
                found = None
                break
            found.append((field.attname, field.target_field) if field.is_relation else (name, field))
        _COLUMNS[key] = found
    return found


def update(model, key, build, params):
    """``build()`` gives ``(queryset, {field: value or expression})``: runs that UPDATE with the
    kept SQL and returns how many rows matched (as ``QuerySet.update`` does)."""
    alias = router.db_for_write(model)
    full_key = ("update", alias, model, key, tuple(params.values))

    def make_compiler():
        queryset, values = build()
        return _compiler_of(Built("update", queryset, values), alias)

    return _update_rows(_kept(full_key, make_compiler), params)


def _update_rows(kept, params):
    if kept.sql is None:
        return 0
    alias = kept.compiler.using
    connection = connections[alias]
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(kept.sql, kept.bind(params.values, connection))
        return cursor.rowcount


def save_fields(obj, update_fields, expect=None):
    """``obj.save(update_fields=update_fields)`` for a row that exists, with one UPDATE by primary
    key whose SQL is made once per model and set of fields (``apps.core.rowupdate``): each field's
    ``pre_save`` (so ``auto_now``), the ``pre_save`` and ``post_save`` signals with
    ``update_fields``, and Django's error when no row matched. For the state changes every flow
    writes; the same limits as ``insert``.

    ``expect``: ``{field: value}`` the row must still hold (a compare-and-set); when it does not,
    nothing is written, no ``post_save`` is sent and None is returned."""
    _check_plain_save(type(obj), "save_fields")
    return write_fields(obj, update_fields, expect)


# saves that are Django's own as far as a direct write goes (``apps.core.models.Resource.save``
# routes to write_fields/write_new itself)
PLAIN_SAVES = {models.Model.save}
_DIRECT = {}


def _check_plain_save(model, what):
    if model.save not in PLAIN_SAVES or not can_write_directly(model):
        raise TypeError(f"prepared.{what}: {model._meta.label} has a parent model or a save() of its own: use save()")


def can_write_directly(model):
    """Whether ``write_new``/``write_fields`` can save rows of ``model``: no parent model, not a
    proxy, no database defaults or generated columns (values the database would send back)."""
    found = _DIRECT.get(model)
    if found is None:
        meta = model._meta
        found = _DIRECT[model] = not (meta.parents or meta.proxy or any(
            getattr(f, "generated", False) or getattr(f, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED
            for f in meta.concrete_fields))
    return found


def write_fields(obj, update_fields, expect=None):
    """``save_fields`` without its check: for a ``save()`` that has done its own part already."""
    model = type(obj)
    meta = model._meta
    alias = router.db_for_write(model, instance=obj)
    names = frozenset(update_fields)
    signals.pre_save.send(sender=model, instance=obj, raw=False, using=alias, update_fields=names)
    fields = [meta.get_field(name) for name in update_fields]
    obj._prepare_related_fields_for_save(operation_name="save", fields=fields)
    values = {field.name: field.pre_save(obj, False) for field in fields}
    with transaction.mark_for_rollback_on_error(using=alias):
        if not update_row(model, {meta.pk.attname: obj.pk, **(expect or {})}, values):
            if expect:
                return None
            raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.db = alias
    signals.post_save.send(sender=model, instance=obj, created=False, update_fields=names, raw=False, using=alias)
    return obj


def insert(obj, ignore_conflicts=False):
    """Save ``obj``, a new instance not saved yet, with one INSERT whose SQL is made once per model.

    What ``obj.save()`` does for a new row (each field's ``pre_save``, so ``auto_now_add``; the
    ``pre_save`` and ``post_save`` signals, ``created=True``; the primary key the database made),
    without building and compiling an insert query every time: for the rows every request or
    flow writes (audit and change logs, jobs, a new VM). Only for models without a parent model or
    a ``save()`` of their own (checked), and plain concrete fields.

    ``ignore_conflicts``: a row that a unique constraint refuses is not inserted, and None is
    returned instead of an error (``INSERT IGNORE`` / ``INSERT OR IGNORE``), so a caller trying
    candidates inside a transaction needs no savepoint around each. MariaDB's IGNORE relaxes other
    checks too (a foreign key it refuses leaves no row; a value too long is cut, a NULL for a NOT
    NULL column becomes the type's default): only for rows whose values the caller makes itself,
    and a caller that gets None and must know why inserts again without it."""
    _check_plain_save(type(obj), "insert")
    return write_new(obj, ignore_conflicts)


def write_new(obj, ignore_conflicts=False):
    """``insert`` without its check: for a ``save()`` that has done its own part already."""
    model = type(obj)
    meta = model._meta
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    auto = meta.auto_field
    pk_given = obj.pk is not None or auto is None
    key = (alias, model, pk_given, ignore_conflicts)
    kept = _INSERTS.get(key)
    if kept is None:
        fields = [f for f in meta.local_concrete_fields
                  if not getattr(f, "generated", False) and (pk_given or f is not auto)]
        quote = connection.ops.quote_name
        on_conflict = OnConflict.IGNORE if ignore_conflicts else None
        sql = (f"{connection.ops.insert_statement(on_conflict=on_conflict)} {quote(meta.db_table)} "
               f"({', '.join(quote(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))})")
        suffix = connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None) if on_conflict else ""
        kept = _INSERTS[key] = (f"{sql} {suffix}".rstrip(), fields)
    sql, fields = kept
    obj._prepare_related_fields_for_save(operation_name="save")
    signals.pre_save.send(sender=model, instance=obj, raw=False, using=alias, update_fields=None)
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if ignore_conflicts and cursor.rowcount != 1:
            return None
        if not pk_given:
            setattr(obj, auto.attname, cursor.lastrowid)
    obj._state.db = alias
    obj._state.adding = False
    signals.post_save.send(sender=model, instance=obj, created=True, update_fields=None, raw=False, using=alias)
    return obj

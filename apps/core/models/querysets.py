"""How apps reach core's fast paths while writing ordinary Django.

An app says what it wants in Django's words; core makes it cheap behind them:

- ``Model.objects.get(uuid=...)`` (also after ``select_related`` or ``select_for_update``) with
  plain equality lookups: SQL made once per shape, then only bound to new values
  (``apps.core.prepared``).
- ``Model.objects.create(...)``, ``obj.save()`` of a new row and ``obj.save(update_fields=[...])``
  of a ``Resource``: SQL made once per model, the same signals (``Resource.save``).
- ``@compiled`` on a method of the model's queryset: its body is plain Django (``filter``,
  ``F()``, ``update``, ``get``, ``first``, or a queryset for a list). It runs once per shape, to
  make the SQL; each call binds its arguments to it, typed by the column a lookup compares them
  with (or assigns them to), else by their Python type.
- ``@kept(invalidated_by=[...])`` keeps what a method answers for a second in this process
  (``apps.core.rowcache``), dropped at once when a row of those models is saved or deleted.
- ``retry_on_lock_conflict``: a function MariaDB undid for a lock conflict, done again when that
  undid nothing of a caller's (``apps.core.dblocks``).

    class HostQuerySet(ResourceQuerySet):
        @compiled
        def take(self, pk, cpu, cpu_room):
            return self.filter(pk=pk, used_cpu__lte=cpu_room).update(used_cpu=F("used_cpu") + cpu)

        @kept(invalidated_by=[Host, Cluster])
        @compiled
        def with_cluster(self, uuid):
            return self.select_related("cluster").filter(uuid=uuid).first()
"""
import contextvars
import functools
import threading

from django.apps import apps as django_apps
from django.db import models

from .. import dblocks, planner, prepared, rowcache

_BUILDING = contextvars.ContextVar("compiled_query_building", default=False)


class FastQuerySet(models.QuerySet):
    """A QuerySet whose ``get``, ``create`` and ``@compiled`` methods take core's fast paths."""

    def get(self, *args, **kwargs):
        if _BUILDING.get():
            return prepared.Built("get", self.filter(*args, **kwargs))
        if kwargs and not args:
            found = prepared.plain_get(self, kwargs)
            if found is not NotImplemented:
                return found
        return super().get(*args, **kwargs)

    def first(self):
        if _BUILDING.get():
            return prepared.Built("first", self)
        return super().first()

    def update(self, **kwargs):
        if _BUILDING.get():
            return prepared.Built("update", self, kwargs)
        return super().update(**kwargs)

    def create(self, **kwargs):
        obj = self.model(**kwargs)
        if self._db is None and _direct(self.model):
            return prepared.write_new(obj)
        self._for_write = True
        obj.save(force_insert=True, using=self.db)
        return obj

    def try_create(self, **kwargs):
        """``create(**kwargs)``, or None when a unique constraint refuses the row, without an error
        (``INSERT IGNORE``): a loop trying candidates in a transaction needs no savepoint per try.
        MariaDB's IGNORE also lets a refused foreign key or a value too long pass silently: only
        for rows whose values the caller makes itself; None means "not inserted"."""
        if self._db is not None or not _direct(self.model):
            raise TypeError(f"try_create: {self.model._meta.label} has a save() of its own or a parent model")
        return prepared.write_new(self.model(**kwargs), ignore_conflicts=True)

    def as_condition(self):
        """A filter condition true when this queryset (correlated with ``OuterRef``) has a row.
        Unlike ``Exists``, MariaDB never turns it into a semi-join that reads and sorts every
        matching outer row before a LIMIT (``apps.core.planner``)."""
        return planner.any_row(self)

    @classmethod
    def as_manager(cls):
        manager = FastManager.from_queryset(cls)()
        manager._built_with_as_manager = True
        return manager

    as_manager.queryset_only = True


class FastManager(models.Manager):
    def get(self, *args, **kwargs):
        # the model's own manager: no QuerySet is made for SQL that is kept already
        if kwargs and not args and not _BUILDING.get() and self._plain():
            found = prepared.plain_get(self.get_queryset, kwargs, self.model)
            if found is not NotImplemented:
                return found
        return self.get_queryset().get(*args, **kwargs)

    def create(self, **kwargs):
        if self._plain() and _direct(self.model):
            return prepared.write_new(self.model(**kwargs))
        return self.get_queryset().create(**kwargs)

    def _plain(self):
        """The model's own manager: no filters of a related manager, no other database."""
        return self._db is None and not self._hints and not hasattr(self, "core_filters") \
            and type(self).get_queryset is models.Manager.get_queryset

    @classmethod
    def from_queryset(cls, queryset_class, class_name=None):
        manager_class = super().from_queryset(queryset_class, class_name)
        for klass in reversed(queryset_class.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, (compiled, kept)):
                    setattr(manager_class, name, attr)   # called on the manager without a QuerySet
        return manager_class


def _direct(model):
    return model.save in prepared.PLAIN_SAVES and prepared.can_write_directly(model)


def _source(obj, what):
    """(model, make the queryset a body builds on) for a manager or a plain queryset."""
    if isinstance(obj, models.Manager):
        if hasattr(obj, "core_filters") or obj._hints:   # a related manager: its filters would be kept
            raise TypeError(f"{what} runs on the model's manager, not on a related manager")
        return obj.model, obj.get_queryset
    if prepared._plain_shape(obj) != ((), False):
        raise TypeError(f"{what} runs on Model.objects: a queryset's filters would be kept with its SQL")
    return obj.model, lambda: obj


class compiled:
    """A queryset method made once per shape into SQL that each call binds its arguments to.

    Each argument becomes a value of the query: a list or tuple a list of them (its length is
    part of the shape), a dict a dict of them (its keys are), a model instance its primary key.
    None stays None (a body may test ``is None``; that is part of the shape too). A body never
    tests a value's truth (``if only:`` is always true while the SQL is made): arguments that
    steer it go in ``shape=[names]``, whose values are part of the shape (they must be hashable)
    and reach the body as they are.

    In the tests (``PREPARED_QUERIES_CHECK``) every call also runs the body and checks that its
    SQL is the kept one. Answers as the body's last call would: a list for a queryset, the row
    for ``get()`` (its errors too), the row or None for ``first()``, the rows matched for
    ``update()``. Runs on the model's manager or its plain queryset only."""

    def __init__(self, fn=None, *, shape=()):
        self.shape = frozenset(shape)
        if fn is not None:
            self._wrap(fn)

    def __call__(self, fn):   # @compiled(shape=[...])
        self._wrap(fn)
        return self

    def _wrap(self, fn):
        self.fn = fn
        code = fn.__code__
        self.names = code.co_varnames[1:code.co_argcount]
        defaults = fn.__defaults__ or ()
        self.defaults = dict(zip(self.names[len(self.names) - len(defaults):], defaults))
        self.key = (fn.__module__, fn.__qualname__)
        functools.update_wrapper(self, fn)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return functools.partial(self.call, obj)

    def call(self, obj, *args, **kwargs):
        model, base = _source(obj, self.key[1])
        values = dict(zip(self.names, args)) if len(args) == len(self.names) and not kwargs \
            else self._arguments(args, kwargs)
        p = prepared.Params()   # the values to bind, by name; their Params are made only to build
        shape = []
        for name in self.names:
            if name in self.shape:
                shape.append(values[name])
            else:
                _flatten(name, values[name], shape, p.values)
        return prepared.run(model, self.key + tuple(shape), lambda: self._build(base(), values), p)

    def _arguments(self, args, kwargs):
        if len(args) > len(self.names):
            raise TypeError(f"{self.key[1]}() takes {len(self.names)} arguments, {len(args)} given")
        values = dict(zip(self.names, args))
        for name, value in kwargs.items():
            if name in values or name not in self.names:
                raise TypeError(f"{self.key[1]}() got an unexpected or repeated argument {name!r}")
            values[name] = value
        for name in self.names:
            if name not in values:
                if name not in self.defaults:
                    raise TypeError(f"{self.key[1]}() missing argument {name!r}")
                values[name] = self.defaults[name]
        return values

    def _build(self, queryset, values):
        p = prepared.Params()
        arguments = {name: value if name in self.shape else _as_params(p, name, value)
                     for name, value in values.items()}
        token = _BUILDING.set(True)
        try:
            return self.fn(queryset, **arguments)
        finally:
            _BUILDING.reset(token)


_SCALARS = frozenset(prepared.TYPED)


def _flatten(name, value, shape, flat):
    """The values of an argument to bind (``flat``, by Param name) and what it adds to the shape."""
    kind = type(value)
    if kind in _SCALARS:
        flat[name] = value
    elif value is None:
        pass
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        shape.append(("list", len(items)))
        for index, item in enumerate(items):
            _flatten(f"{name}.{index}", item, shape, flat)
    elif isinstance(value, dict):
        shape.append(("dict", tuple(value)))
        for key, item in value.items():
            _flatten(f"{name}.{key}", item, shape, flat)
    elif isinstance(value, models.Model):
        flat[name] = value.pk
    else:
        flat[name] = value
    shape.append(kind)


def _as_params(p, name, value):
    """The argument as the body sees it while its SQL is made: Params where the values go."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_as_params(p, f"{name}.{index}", item) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _as_params(p, f"{name}.{key}", item) for key, item in value.items()}
    return prepared.param_of(p, name, value)


class ResourceQuerySet(FastQuerySet):
    """The default queryset of every ``Resource``."""

    @compiled
    def claim(self, pk, job_uuid):
        """Mark the row busy with ``job_uuid`` if no job holds it; 1 when it did, else 0."""
        return self.filter(pk=pk, busy_job__isnull=True).update(busy_job=job_uuid)


class kept:
    """What a queryset method answers, kept a second per process for the same arguments
    (``apps.core.rowcache``: ``ROW_CACHE_SECONDS``), and dropped at once in this process when a
    row of ``invalidated_by`` is saved or deleted, or a link of a many-to-many table among them
    changes. Those are models, ``"app.Model"`` or, for a many-to-many table,
    ``"app.Model.field"``; ``(model, when)`` drops only when ``when(row)`` says so. A write that
    sends no signal (``QuerySet.update``) is seen by other processes within the second.

    For rows of configuration (an image, a network and its ranges), never for figures that
    flows change (capacity, state): those are read fresh. Rows come out as shallow copies."""

    def __init__(self, method=None, *, invalidated_by):
        self.invalidated_by = list(invalidated_by)
        self._wired = False
        self._lock = threading.Lock()
        if method is not None:
            self._wrap(method)

    def __call__(self, method):   # @kept(invalidated_by=[...])
        self._wrap(method)
        return self

    def _wrap(self, method):
        self.method = method
        fn = getattr(method, "fn", method)
        self.name = f"{fn.__module__}.{fn.__qualname__}"
        functools.update_wrapper(self, fn)

    def __set_name__(self, owner, name):
        if hasattr(self.method, "__set_name__"):
            self.method.__set_name__(owner, name)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return functools.partial(self.call, obj)

    def call(self, obj, *args, **kwargs):
        if not self._wired:
            self._wire()
        key = (self.name, *map(_key_part, args))
        if kwargs:
            key += tuple((k, _key_part(v)) for k, v in sorted(kwargs.items()))
        return rowcache.get(key, lambda: self.method.__get__(obj, type(obj))(*args, **kwargs))

    def forget(self):
        """Drop what is kept (for a write that sends no signal)."""
        rowcache.forget(self.name)

    def _wire(self):
        with self._lock:
            if self._wired:
                return
            for item in self.invalidated_by:
                model, when = item if isinstance(item, tuple) else (item, None)
                model = _model(model)
                rowcache.watch(model, names=[self.name], relations=[model] if model._meta.auto_created else (),
                               when=when)
            self._wired = True


def _model(ref):
    if not isinstance(ref, str):
        return ref
    parts = ref.split(".")
    model = django_apps.get_model(parts[0], parts[1])
    return model._meta.get_field(parts[2]).remote_field.through if len(parts) == 3 else model


def _key_part(value):
    if type(value) in _SCALARS:
        return value
    if isinstance(value, models.Model):
        return (value._meta.label, value.pk)
    if isinstance(value, (list, tuple)):
        return tuple(map(_key_part, value))
    return value


def retry_on_lock_conflict(fn):
    """``fn`` done again (a few times, after a short pause) when MariaDB undid it for a lock
    conflict (a deadlock, a lock wait timeout) and it ran outside any transaction; inside one,
    the caller's work was undone too and the error goes up to its owner (``apps.core.dblocks``).
    ``fn`` opens its own ``transaction.atomic()`` when it writes more than one statement."""
    @functools.wraps(fn)
    def retrying(*args, **kwargs):
        return dblocks.retrying(lambda: fn(*args, **kwargs))

    return retrying

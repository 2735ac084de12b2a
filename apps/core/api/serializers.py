import copy
import threading

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.mysql.operations import DatabaseOperations as MariaDbOperations
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.utils.formatting import lazy_format

from ..models import AuditLog, ChangeLog, GlobalConfig, Job, Tag, resource_model
from ..query import admin_only, hide_from_tenants
from ..tenancy import is_admin


# What SQLite's INTEGER holds. MariaDB's BIGINT UNSIGNED holds more, but the portal runs on both.
_SIGNED_64 = (-(2**63), 2**63 - 1)


def column_range(model_field):
    """(min, max) of the values an integer column holds on every database the portal runs on:
    MariaDB's range for the column type (the positive types are UNSIGNED there) within 64 signed
    bits (SQLite). None for a field that is not an integer column."""
    if not isinstance(model_field, models.IntegerField):
        return None
    low, high = MariaDbOperations.integer_field_ranges.get(model_field.get_internal_type(), _SIGNED_64)
    return max(low, _SIGNED_64[0]), min(high, _SIGNED_64[1])


def column_of(serializer_class, name, field):
    """The model field a serializer field writes: its ``source`` (or its name) on the serializer's
    ``Meta.model``. A plain Serializer may name the model whose columns it fills the same way."""
    model = getattr(getattr(serializer_class, "Meta", None), "model", None)
    source = field.source or name
    if model is None or source == "*" or "." in source:
        return None
    try:
        return model._meta.get_field(source)
    except FieldDoesNotExist:  # a method or a property of the model: no column
        return None


def limit_to_column(field, model_field):
    """Give a writable serializer field the bounds of the column it is saved in, so that a value the
    column cannot hold is a 400 naming the field, not a database error (MariaDB answers 1264/1406,
    SQLite an OverflowError) answered as 500. Bounds the field already has that are tighter stay."""
    if field.read_only or model_field is None:
        return
    bounds = column_range(model_field)
    if bounds is not None and isinstance(field, serializers.IntegerField):
        low, high = bounds
        if field.max_value is None or field.max_value > high:
            field.max_value = high
            message = lazy_format(field.error_messages["max_value"], max_value=high)
            field.validators.append(MaxValueValidator(high, message=message))
        if field.min_value is None or field.min_value < low:
            field.min_value = low
            message = lazy_format(field.error_messages["min_value"], min_value=low)
            field.validators.append(MinValueValidator(low, message=message))
    length = getattr(model_field, "max_length", None)
    if (length is not None and isinstance(model_field, models.CharField)
            and isinstance(field, serializers.CharField)
            and (field.max_length is None or field.max_length > length)):
        field.max_length = length
        message = lazy_format(field.error_messages["max_length"], max_length=length)
        field.validators.append(MaxLengthValidator(length, message=message))


class DateTimeField(serializers.DateTimeField):
    """DRF's date-time, always in the portal's time zone (``TIME_ZONE``, UTC by default) rather
    than the one activated for the request: the API answers in one zone, and DRF looks the active
    one up (a context-local read, not cheap) for every date of every row of a page."""

    def default_timezone(self):
        return timezone.get_default_timezone() if settings.USE_TZ else None


class BuiltOnceFieldsMixin:
    """A ModelSerializer builds its fields from the model's metadata for every serializer made
    (every response of one object pays it again: about a third of a small request's CPU). What
    it builds is the same for every instance of a class, so here it is built once per class and
    each serializer gets deep copies of it, the way DRF copies declared fields. Subclasses that
    adjust their fields per instance (``get_fields`` calling ``super()``) change their copies.

    Building them, every writable field saved in an integer or character column of ``Meta.model``
    (declared on the serializer or made from the model) gets the column's range or length
    (``limit_to_column``), and every date-time column is the portal's ``DateTimeField``."""

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: DateTimeField}

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            for name, field in built.items():
                limit_to_column(field, column_of(cls, name, field))
            cls._built_fields = built  # two threads may both build it: the same result
        return {name: _copy_field(field) for name, field in built.items()}


def _copy_field(field):
    """A field for one serializer instance. A leaf field is copied shallowly: binding it sets
    attributes of its own, and what it shares with the built one (validators, messages, choices,
    a related field's queryset) is only read. A field holding other fields (a nested serializer,
    a list's ``child``, a many-related ``child_relation``) bound them to itself when it was made,
    so it is deep-copied as DRF does (deep copies cost about ten times more)."""
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation"):
        return copy.deepcopy(field)
    # what copy.copy does for a field, without its way through __reduce_ex__ (measured alone,
    # 2.3 -> 1.5 µs a field; a VM create request copies about 60)
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


_kept = threading.local()


def represent(serializer_class, instance, context=None):
    """``serializer_class(instance, context=context).data`` (as a plain dict) from a serializer
    this thread keeps per class, so that its fields are copied and bound once instead of for every
    response: about two thirds of the time to render one object. Only for classes whose fields do
    not depend on the instance or the context (no ``get_fields`` of their own that looks at them
    for what is shown): the serializer is made once with neither."""
    kept = _take_kept(serializer_class, context)
    try:
        return kept[0].to_representation(instance)
    finally:
        _give_back(serializer_class, kept)


def represent_many(serializer_class, instances, context=None):
    """``serializer_class(instances, many=True, context=context).data`` as a plain list, from the
    serializer ``represent`` keeps (same condition): a list page makes no serializer. Nothing of the
    page then sits in a reference cycle (a serializer and its fields point at each other), so its
    rows are freed as soon as the answer is, not by the garbage collector's later passes."""
    kept = _take_kept(serializer_class, context)
    try:
        return [kept[0].to_representation(instance) for instance in instances]
    finally:
        _give_back(serializer_class, kept)


def _take_kept(serializer_class, context):
    kept = _kept.__dict__.setdefault("serializers", {})
    serializer, held = kept.pop(serializer_class, (None, None))  # while in use, a nested call makes its own
    if serializer is None:
        held = {}   # its context for good: each use fills it with the caller's
        serializer = serializer_class(context=held)
        serializer.fields  # noqa: B018 - copied and bound now, once
    if context:
        held.update(context)
    return serializer, held


def _give_back(serializer_class, kept):
    kept[1].clear()  # the request is not kept alive by the kept serializer
    _kept.serializers[serializer_class] = kept


_readable = {}


def readable_fields(serializer_class):
    """The names of the fields ``serializer_class`` shows (what ``fields=`` may ask for), found
    once per class (making a serializer copies all its fields)."""
    found = _readable.get(serializer_class)
    if found is None:
        found = frozenset(name for name, field in serializer_class().fields.items() if not field.write_only)
        _readable[serializer_class] = found
    return found


_reads = {}


def relations_read(serializer_class, fields):
    """The relation paths (``host``, ``nics__l3_network``) that showing ``fields`` of
    ``serializer_class`` reads: each field's source, step by step, and a nested serializer's own
    fields under its name. None when one of them may read anything: a method field or a source of
    ``*``, unless the serializer's ``Meta.reads = {field: [paths]}`` says what it reads."""
    per_field = _reads.get(serializer_class)
    if per_field is None:
        per_field = _field_reads(serializer_class())
        _reads[serializer_class] = per_field
    found = set()
    for name in fields:
        paths = per_field.get(name, ())
        if paths is None:
            return None
        found.update(paths)
    return found


def _field_reads(serializer):
    declared = getattr(getattr(type(serializer), "Meta", None), "reads", {})
    per_field = {}
    for name, field in serializer.fields.items():
        if name in declared:
            per_field[name] = frozenset(declared[name])
            continue
        steps = list(field.source_attrs)
        if not steps:   # source="*": the whole object
            per_field[name] = None
            continue
        paths = {"__".join(steps[:n]) for n in range(1, len(steps) + 1)}
        inner = getattr(field, "child", field)
        if isinstance(inner, serializers.BaseSerializer):   # a nested row or list: what its fields read
            below = _field_reads(inner)
            if any(v is None for v in below.values()):
                per_field[name] = None
                continue
            own = "__".join(steps)
            paths.update(f"{own}__{path}" for reads in below.values() for path in reads)
        per_field[name] = frozenset(paths)
    return per_field


ADMIN_ONLY_NOTE = "Admin accounts only."


def admin_only_fields(serializer_class):
    """The fields ``serializer_class`` shows to admin accounts only (its ``Meta.admin_only_fields``)."""
    return serializer_class.__dict__.get("_admin_only") or frozenset(
        getattr(getattr(serializer_class, "Meta", None), "admin_only_fields", ()))


def for_admin(context):
    """True when the request the serializer answers is an admin account's. Without a request
    (nothing says who reads it) the answer is no: admin-only fields are left out."""
    request = context.get("request") if context else None
    return is_admin(getattr(request, "user", None))


class AdminOnlyFieldsMixin:
    """Infrastructure internals (a host's address and SSH user, a storage's path) are for admin
    accounts: ``Meta.admin_only_fields = [...]`` names them, and they are left out of what any
    other account is answered (``fields=``, CSV, the fast path ``represent`` too, as they all
    render here). The query DSL refuses them to others as well (``apps.core.query.ADMIN_ONLY``);
    the OpenAPI schema still documents them, marked "Admin accounts only"."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = frozenset(getattr(getattr(cls, "Meta", None), "admin_only_fields", ()))
        cls._admin_only = names
        model = getattr(getattr(cls, "Meta", None), "model", None)
        if names and model is not None:
            hide_from_tenants(model, names)

    def get_fields(self):
        fields = super().get_fields()
        for name in type(self)._admin_only:
            field = fields.get(name)
            if field is not None and ADMIN_ONLY_NOTE not in (field.help_text or ""):
                field.help_text = f"{field.help_text} ({ADMIN_ONLY_NOTE})" if field.help_text else ADMIN_ONLY_NOTE
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        hidden = type(self)._admin_only
        if hidden and not for_admin(self.context):
            for name in hidden:
                data.pop(name, None)
        return data


class FieldSelectionMixin(AdminOnlyFieldsMixin):
    """Honours ``?fields=a,b``: only those keys are rendered (validated by the view), and only
    those fields are computed (the console's lists ask for the columns they show)."""

    def to_representation(self, instance):
        wanted = self.context.get("fields")
        if not wanted:
            return super().to_representation(instance)
        hidden = type(self)._admin_only if not for_admin(self.context) else ()
        data = {}
        for name, field in self.fields.items():   # DRF's Serializer.to_representation, for the wanted ones
            if name not in wanted or name in hidden or field.write_only:
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            present = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            data[name] = None if present is None else field.to_representation(attribute)
        return data


class ResourceSerializer(FieldSelectionMixin, BuiltOnceFieldsMixin, serializers.ModelSerializer):
    uuid = serializers.UUIDField(read_only=True)
    tags = serializers.SerializerMethodField()

    class Meta:
        fields = ["uuid", "name", "description", "created_at", "updated_at", "tags"]
        read_only_fields = ["created_at", "updated_at"]
        reads = {"tags": ()}   # from the context (the page's tags, read once): no relation of the row

    def get_tags(self, obj) -> list[str]:
        cache = self.context.get("tags")
        if cache is not None:
            return cache.get(obj.uuid, [])
        from ..api.tags import tags_for

        request = self.context.get("request")
        return tags_for([obj.uuid], request.user if request else None).get(obj.uuid, [])


class JobSerializer(FieldSelectionMixin, BuiltOnceFieldsMixin, serializers.ModelSerializer):
    account_uuid = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "uuid", "action", "flow", "state", "progress", "steps", "resource_type", "resource_uuid",
            "result", "error", "cancel_requested", "request_id", "account_uuid", "created_at",
            "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_account_uuid(self, obj) -> str | None:
        return str(obj.account.uuid) if obj.account_id else None


class TagSerializer(FieldSelectionMixin, BuiltOnceFieldsMixin, serializers.ModelSerializer):
    resource_uuid = serializers.UUIDField()
    tag = serializers.CharField(max_length=512)
    type = serializers.ChoiceField(choices=["user", "system"], default="user")
    account_uuid = serializers.SerializerMethodField()

    class Meta:
        model = Tag
        fields = ["uuid", "resource_uuid", "resource_type", "tag", "type", "account_uuid", "created_at"]
        read_only_fields = ["uuid", "resource_type", "account_uuid", "created_at"]

    def get_account_uuid(self, obj) -> str | None:
        return str(obj.account.uuid) if obj.account_id else None


class GlobalConfigSerializer(FieldSelectionMixin, BuiltOnceFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = GlobalConfig
        fields = ["category", "name", "type", "value", "default_value", "description", "updated_at"]
        read_only_fields = fields


class AuditLogSerializer(FieldSelectionMixin, BuiltOnceFieldsMixin, serializers.ModelSerializer):
    account_uuid = serializers.SerializerMethodField()

    class Meta:
        model = AuditLog
        fields = [
            "uuid", "created_at", "request_id", "user_name", "user_uuid", "account_uuid", "method", "path",
            "action", "resource_type", "resource_uuid", "job_uuid", "status_code", "result", "error_code",
            "duration_ms", "client_ip",
        ]
        read_only_fields = fields

    def get_account_uuid(self, obj) -> str | None:
        return str(obj.account.uuid) if obj.account_id else None


class ChangeLogSerializer(FieldSelectionMixin, BuiltOnceFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = ChangeLog
        fields = [
            "uuid", "created_at", "request_id", "job_uuid", "user_name", "resource_type", "resource_uuid",
            "resource_name", "action", "before", "after",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        model = resource_model(instance.resource_type)
        hidden = admin_only(model) if model is not None and not for_admin(self.context) else ()
        for side in ("before", "after"):   # a volume's install_path is not its owner's to read here either
            if hidden and isinstance(data.get(side), dict):
                data[side] = {key: value for key, value in data[side].items() if key not in hidden}
        return data


class ConfigValueSerializer(serializers.Serializer):
    value = serializers.JSONField(help_text="the new value, of the config's type")


class ResourceConfigSerializer(serializers.Serializer):
    category = serializers.CharField()
    name = serializers.CharField()
    resource_type = serializers.CharField()
    resource_uuid = serializers.UUIDField()
    value = serializers.JSONField()
    updated_at = serializers.DateTimeField()
    effective = serializers.JSONField(required=False, help_text="the value in force on the resource")


class ResourceConfigListSerializer(serializers.Serializer):
    overridable_by = serializers.ListField(child=serializers.CharField())
    results = ResourceConfigSerializer(many=True)


class ReverseRowsList(serializers.ListSerializer):
    """A nested list of the rows that point at the object (a VM's NICs): empty, without a query,
    for an object the request made just now (``context["created"]``: its flow adds them later)."""

    def get_attribute(self, instance):
        if self.context.get("created"):
            return []
        return super().get_attribute(instance)

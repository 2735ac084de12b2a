import math

from ..errors import InvalidArgument, NotFound

REGISTRY = {}  # (category, name) -> GlobalConfigDef

TYPES = {"int": int, "float": float, "bool": bool, "str": str}
_TYPE_NAMES = {v: k for k, v in TYPES.items()}


def at_least(minimum):
    def check(value):
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
    return check


def between(low, high):
    def check(value):
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
    return check


def one_of(*choices):
    def check(value):
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(map(str, choices))}")
    return check


class GlobalConfigDef:
    def __init__(self, category, name, type_, default, description, *, validator=None, overridable_by=()):
        self.category = category
        self.name = name
        self.type = type_
        self.default = default
        self.description = description
        self.validator = validator
        self.overridable_by = tuple(overridable_by)
        REGISTRY[(category, name)] = self

    @property
    def type_name(self):
        return _TYPE_NAMES[self.type]

    @property
    def key(self):
        return f"{self.category}/{self.name}"

    def parse(self, raw):
        """Check and convert an API value; InvalidArgument (400) explains a bad one."""
        value = raw
        try:
            if self.type is bool:
                if isinstance(raw, str) and raw.lower() in ("true", "false"):
                    value = raw.lower() == "true"
                elif not isinstance(raw, bool):
                    raise ValueError("must be true or false")
            elif self.type is int:
                if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                    raise ValueError("must be an integer")
                value = int(raw)
                if not -(2**63) <= value < 2**63:  # what a 64-bit column or counter holds
                    raise ValueError("must be a 64-bit integer")
            elif self.type is float:
                if isinstance(raw, bool):
                    raise ValueError("must be a number")
                value = float(raw)
                if not math.isfinite(value):  # "inf", "nan": no JSON answer can show them
                    raise ValueError("must be a finite number")
            elif self.type is str:
                if not isinstance(raw, str):
                    raise ValueError("must be a string")
            if self.validator:
                self.validator(value)
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(
                f"bad value {raw!r} for {self.key}: {exc}",
                details={"category": self.category, "name": self.name, "value": raw},
            ) from None
        return value

    def value(self, resource=None):
        """The value in force: the resource's own override, then its parents', then global."""
        if resource is not None and self.overridable_by:
            overrides = self.overrides()
            if overrides:
                for item in _override_chain(resource):
                    if item.uuid in overrides:
                        return overrides[item.uuid]
        stored = _stored_values().get((self.category, self.name))
        return stored if stored is not None else self.default

    def overrides(self):
        """``{resource uuid: value}`` of this config's resource-level overrides (cached like the values)."""
        return _stored_overrides().get((self.category, self.name), {})


# Every process keeps the tables' values (global values and resource overrides) for at most
# CACHE_SECONDS: one query a second instead of one per use. A change made in this process
# clears them at once (signals.py).
CACHE_SECONDS = 1.0
_cache = {"values": None, "loaded": 0.0, "overrides": None, "overrides_loaded": 0.0}


def _stored_overrides():
    import time

    from ..models import ResourceConfig

    now = time.monotonic()
    if _cache["overrides"] is None or now - _cache["overrides_loaded"] > CACHE_SECONDS:
        overrides = {}
        for category, name, resource_uuid, value in ResourceConfig.objects.values_list(
                "category", "name", "resource_uuid", "value"):
            overrides.setdefault((category, name), {})[resource_uuid] = value
        _cache["overrides"], _cache["overrides_loaded"] = overrides, now
    return _cache["overrides"]


def _stored_values():
    import time

    from ..models import GlobalConfig

    now = time.monotonic()
    if _cache["values"] is None or now - _cache["loaded"] > CACHE_SECONDS:
        _cache["values"] = {(c, n): v for c, n, v in GlobalConfig.objects.values_list("category", "name", "value")}
        _cache["loaded"] = now
    return _cache["values"]


def clear_cache(**kwargs):
    _cache["values"] = None
    _cache["overrides"] = None


def _override_chain(resource):
    """The resource, then its parents, as far as they can carry overrides (host → cluster → zone)."""
    current = resource
    seen = 0
    while current is not None and seen < 5:
        yield current
        current = getattr(current, "config_parent", lambda: None)()
        seen += 1


def get_def(category, name):
    try:
        return REGISTRY[(category, name)]
    except KeyError:
        raise NotFound(f"no global config {category}/{name}", code="NO_SUCH_CONFIG") from None


def sync_registry():
    """Mirror the registry into the GlobalConfig table (keeps changed values)."""
    from ..models import GlobalConfig

    existing = {(c.category, c.name): c for c in GlobalConfig.objects.all()}
    for key, definition in REGISTRY.items():
        row = existing.get(key)
        if row is None:
            GlobalConfig.objects.create(
                category=definition.category, name=definition.name, type=definition.type_name,
                default_value=definition.default, value=definition.default, description=definition.description,
            )
        elif (row.type, row.default_value, row.description) != (
            definition.type_name, definition.default, definition.description
        ):
            row.type, row.default_value, row.description = (
                definition.type_name, definition.default, definition.description)
            row.save(update_fields=["type", "default_value", "description", "updated_at"])

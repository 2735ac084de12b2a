"""What Express Connect and VPN Describe* calls filter on: the `Filter.N.Key` / `Filter.N.Value.M`
conditions (values of one key OR-ed, keys AND-ed, as the real service documents) and tags."""
import re

from . import resource_tags
from .errors import invalid_parameter
from .params import Params

_VALUE = re.compile(r"Value\.(\d+)$")
MAX_FILTERS = 5


def parse_filters(params, allowed):
    """{key: {values}} from the call's Filter list; an unknown key is InvalidParameter like the
    real service's InvalidFilterKey, so a caller's typo does not silently match everything."""
    conditions = {}
    entries = params.objects("Filter")
    if len(entries) > MAX_FILTERS:
        raise invalid_parameter("Filter", code="InvalidFilter.ExceedLimit")
    for entry in entries:
        key = entry.get("Key")
        if not key:
            continue
        if key not in allowed:
            raise invalid_parameter("Filter.Key", key, code="InvalidFilterKey.ValueNotSupported")
        values = [value for name, value in entry.items() if _VALUE.match(name) and value != ""]
        conditions.setdefault(key, set()).update(values)
    return conditions


def matches(record, conditions, fields=None):
    """Whether the record meets every condition; `fields` maps a filter key to the record field
    it reads when the two names differ."""
    fields = fields or {}
    for key, values in conditions.items():
        if values and str(record.get(fields.get(key, key), "")) not in values:
            return False
    return True



def tag_params(params, name):
    """The call's `<name>.N.Key/Value` list seen as `Tag.N.*`, the name resource_tags reads: Express
    Connect and VPN actions call it `Tags` in some places and `Tag` in others."""
    prefix = name + "."
    return Params({"Tag." + key[len(prefix):]: value for key, value in params.values.items()
                   if key.startswith(prefix)})


def requested_tags(params, name):
    """The tags a Create* call asks for, as [{"Key", "Value"}]."""
    return resource_tags.requested(tag_params(params, name), "Key", "Value")


def has_tags(record_tags, params, name):
    """Whether a record's [{"Key", "Value"}] carries every tag the call filters on."""
    return resource_tags.matches(record_tags, tag_params(params, name), "Key", "Value")

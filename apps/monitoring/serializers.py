"""The metrics API's query parameters (validated here, documented in OpenAPI) and answers."""
import math
import re
import time

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .metrics import AGGREGATIONS, KINDS

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_RESOURCES = 100
# times and durations past these are nobody's metrics (and would not fit the stores' columns)
LATEST = 253402300799          # 9999-12-31T23:59:59Z
LONGEST = 10 * 366 * 86400


@extend_schema_field(OpenApiTypes.STR)
class DurationField(serializers.Field):
    """Seconds, as a number or with a unit: ``90``, ``15m``, ``1h``, ``7d``."""

    default_error_messages = {"invalid": "a duration: seconds, or a number with s, m, h, d or w (1h, 7d)",
                              "positive": "must be more than 0 seconds", "long": "at most ten years"}

    def to_internal_value(self, data):
        match = _DURATION.match(str(data).strip())
        if not match:
            self.fail("invalid")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail("positive")
        if seconds > LONGEST:
            self.fail("long")
        return seconds

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class InstantField(serializers.Field):
    """A time: unix seconds or ISO 8601 (``2026-12-07T10:00:00Z``)."""

    default_error_messages = {"invalid": "a time: unix seconds or ISO 8601 with a time zone"}

    def to_internal_value(self, data):
        text = str(data).strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = parse_datetime(text)
            except ValueError:             # well formed but no such date (month 13)
                parsed = None
            if parsed is None or parsed.tzinfo is None or not 0 <= parsed.timestamp() <= LATEST:
                self.fail("invalid")
            return parsed.timestamp()
        if not math.isfinite(value) or not 0 <= value <= LATEST:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class UuidListField(serializers.Field):
    default_error_messages = {"invalid": "comma-separated resource uuids", "empty": "name at least one resource",
                              "too_many": f"at most {MAX_RESOURCES} resources at once"}

    def to_internal_value(self, data):
        import uuid

        items = [item.strip() for item in str(data).split(",") if item.strip()]
        if not items:
            self.fail("empty")
        if len(items) > MAX_RESOURCES:
            self.fail("too_many")
        try:
            return list(dict.fromkeys(str(uuid.UUID(item)) for item in items))
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value):
        return value


class _MetricQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS, help_text="host or vm")
    metric = serializers.CharField(help_text="a metric name of the kind (GET /api/v1/metrics/ lists them)")


class SeriesQuery(_MetricQuery):
    uuids = UuidListField(help_text=f"the resources, comma-separated (at most {MAX_RESOURCES})")
    period = DurationField(required=False, help_text="how far back from end (default 1h): 3600, 1h, 1d, 7d, 30d")
    start = InstantField(required=False, help_text="unix seconds or ISO 8601 (instead of period)")
    end = InstantField(required=False, help_text="unix seconds or ISO 8601 (default now)")
    step = DurationField(required=False, help_text="seconds between points (default: about 360 points)")

    def validate(self, data):
        end = data.get("end", time.time())
        start = data.get("start", end - data.get("period", 3600))
        if "start" in data and "period" in data:
            raise serializers.ValidationError({"period": "give start or period, not both"})
        if start > end:
            raise serializers.ValidationError({"start": "must not be after end"})
        step = data.get("step") or max(10, math.ceil((end - start) / 360 / 10) * 10)
        return {**data, "start": start, "end": end, "step": step}


class TopQuery(_MetricQuery):
    window = DurationField(required=False, default=3600, help_text="the last this long (default 1h): 300, 1h, 1d")
    n = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    how = serializers.ChoiceField(choices=AGGREGATIONS, required=False, default="avg",
                                  help_text="how a resource's values over the window make one")
    order = serializers.ChoiceField(choices=["desc", "asc"], required=False, default="desc",
                                    help_text="desc: the highest first")
    q = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                              help_text="query-language conditions on the hosts or VMs (repeat q=), e.g. "
                                        "account_uuid=..., state=Running, host.cluster.name=c1")


class MetricInfoSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    description = serializers.CharField()


class CatalogueSerializer(serializers.Serializer):
    store = serializers.CharField(help_text="prometheus or builtin")
    metrics = MetricInfoSerializer(many=True)


class SeriesSerializer(serializers.Serializer):
    uuid = serializers.CharField()
    points = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()),
                                   help_text="[unix seconds, value] pairs; no point where there is no data")


class SeriesAnswerSerializer(serializers.Serializer):
    kind = serializers.CharField()
    metric = serializers.CharField()
    unit = serializers.CharField()
    start = serializers.FloatField()
    end = serializers.FloatField()
    step = serializers.FloatField()
    series = SeriesSerializer(many=True, help_text="one per resource with data, in the order asked")


class RankedSerializer(serializers.Serializer):
    uuid = serializers.CharField()
    name = serializers.CharField()
    value = serializers.FloatField()


class TopAnswerSerializer(serializers.Serializer):
    kind = serializers.CharField()
    metric = serializers.CharField()
    unit = serializers.CharField()
    window = serializers.FloatField()
    how = serializers.CharField()
    results = RankedSerializer(many=True)

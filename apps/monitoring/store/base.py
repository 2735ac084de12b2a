"""What both stores share: argument checks and the one error a store raises."""
import math

from apps.core.errors import CloudPortalError, InvalidArgument

from ..metrics import AGGREGATIONS, metric

# Prometheus refuses a range query of more points than this; the built-in store keeps the same limit
MAX_POINTS = 11000


class StoreUnavailable(CloudPortalError):
    status = 503
    code = "METRICS_STORE_UNAVAILABLE"


def checked_series_args(kind, name, start, end, step):
    found = metric(kind, name)
    for label, value in (("start", start), ("end", end), ("step", step)):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidArgument(f"{label} must be a number of seconds", details={label: value})
    if step <= 0:
        raise InvalidArgument("step must be more than 0 seconds", code="INVALID_STEP", details={"step": step})
    if end < start:
        raise InvalidArgument("end must not be before start", code="INVALID_PERIOD",
                              details={"start": start, "end": end})
    points = int((end - start) // step) + 1
    if points > MAX_POINTS:
        raise InvalidArgument(f"{points} points asked for, at most {MAX_POINTS}: a longer step or a shorter period",
                              code="TOO_MANY_POINTS", details={"points": points, "max": MAX_POINTS})
    return found


def checked_aggregate_args(kind, name, window, how):
    found = metric(kind, name)
    if how not in AGGREGATIONS:
        raise InvalidArgument(f"unknown aggregation '{how}': one of {', '.join(AGGREGATIONS)}",
                              code="UNKNOWN_AGGREGATION", details={"how": how})
    if not isinstance(window, (int, float)) or not math.isfinite(window) or window <= 0:
        raise InvalidArgument("window must be a number of seconds more than 0", code="INVALID_WINDOW",
                              details={"window": window})
    return found


def sample_interval():
    from ..globalconfig import SAMPLE_INTERVAL

    return SAMPLE_INTERVAL.value()

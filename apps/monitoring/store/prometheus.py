"""The metrics store backed by Prometheus: PromQL over its HTTP API (``/api/v1/query_range``,
``/api/v1/query``). Prometheus scrapes the agents itself (targets from the portal's service
discovery), so this side only reads.

A value at time t is the metric's average over the step (or window) ending at t: ``avg_over_time``
of a gauge, ``rate`` of a counter summed over devices. Queries are POSTed (a tenant's resource list
can be long) with a timeout; any failure is StoreUnavailable (503), never a 500.
"""
import json
import math
import urllib.error
import urllib.parse
import urllib.request

from ..metrics import LABELS
from .base import StoreUnavailable, checked_aggregate_args, checked_series_args, sample_interval


def _selector(kind, uuids):
    if uuids is None:
        return ""
    return '{%s=~"%s"}' % (LABELS[kind], "|".join(sorted(str(u) for u in uuids)))


def _instant(kind, metric, sel):
    """The metric's value now: what max/min over a window and "last" are made of."""
    label, source = LABELS[kind], metric.source(kind)
    if metric.how == "rate":
        return f"sum by ({label}) (rate({source[0]}{sel}[{3 * sample_interval()}s]))"
    if metric.how == "ratio":
        return f"100 * sum by ({label}) ({source[0]}{sel}) / sum by ({label}) ({source[1]}{sel})"
    return f"avg by ({label}) ({source[0]}{sel})"


def _averaged(kind, metric, sel, seconds):
    """The metric's average over the ``seconds`` ending at the evaluation time."""
    label, source = LABELS[kind], metric.source(kind)
    if metric.how == "rate":
        # rate() needs two samples in its range
        return f"sum by ({label}) (rate({source[0]}{sel}[{max(int(seconds), 3 * sample_interval())}s]))"
    span = f"[{max(int(seconds), 2 * sample_interval())}s]"
    if metric.how == "ratio":
        return (f"100 * sum by ({label}) (avg_over_time({source[0]}{sel}{span}))"
                f" / sum by ({label}) (avg_over_time({source[1]}{sel}{span}))")
    return f"avg by ({label}) (avg_over_time({source[0]}{sel}{span}))"


def _over_window(kind, metric, sel, window, how):
    # A rate's average over a window is the average of its rates where there are samples (as the
    # built-in store has it), not rate() over the whole window, which counts a gap as no traffic.
    if how == "avg" and metric.how != "rate":
        return _averaged(kind, metric, sel, window)
    if how == "last":
        return _instant(kind, metric, sel)
    return f"{how}_over_time(({_instant(kind, metric, sel)})[{int(window)}s:{sample_interval()}s])"


def _number(text):
    value = float(text)
    return value if math.isfinite(value) else None


class PrometheusStore:
    name = "prometheus"

    def __init__(self, url, timeout=10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path, params):
        body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise StoreUnavailable(f"metrics store unavailable: Prometheus answered {exc.code}",
                                   details={"store": self.name}) from None
        except (OSError, ValueError) as exc:   # refused, timed out, not JSON
            reason = getattr(exc, "reason", None) or exc.__class__.__name__
            raise StoreUnavailable(f"metrics store unavailable: {reason}", details={"store": self.name}) from None
        if answer.get("status") != "success":
            raise StoreUnavailable(f"metrics store unavailable: {answer.get('error', 'query failed')}",
                                   details={"store": self.name})
        return answer["data"]["result"]

    def _vector(self, kind, query):
        label, found = LABELS[kind], {}
        for item in self._get("/api/v1/query", {"query": query}):
            value = _number(item["value"][1])
            if value is not None and label in item["metric"]:
                found[item["metric"][label]] = value
        return found

    def series(self, kind, metric, uuids, start, end, step):
        found = checked_series_args(kind, metric, start, end, step)
        if uuids is not None and not uuids:
            return {}
        query = _averaged(kind, found, _selector(kind, uuids), step)
        label, answer = LABELS[kind], {}
        for item in self._get("/api/v1/query_range", {"query": query, "start": start, "end": end, "step": step}):
            points = [(ts, v) for ts, v in ((ts, _number(text)) for ts, text in item["values"]) if v is not None]
            if points and label in item["metric"]:
                answer[item["metric"][label]] = points
        return answer

    def aggregate(self, kind, metric, uuids, window_seconds, how="avg"):
        found = checked_aggregate_args(kind, metric, window_seconds, how)
        if uuids is not None and not uuids:
            return {}
        return self._vector(kind, _over_window(kind, found, _selector(kind, uuids), window_seconds, how))

    def top(self, kind, metric, window_seconds, n, uuids=None, how="avg", descending=True):
        found = checked_aggregate_args(kind, metric, window_seconds, how)
        if uuids is not None and not uuids:
            return []
        inner = _over_window(kind, found, _selector(kind, uuids), window_seconds, how)
        values = self._vector(kind, f"{'topk' if descending else 'bottomk'}({int(n)}, {inner})")
        ranked = sorted(values.items(), key=lambda item: (-item[1] if descending else item[1], item[0]))
        return ranked[:n]

"""Where metrics are read from: ``get_store()`` answers the configured store.

Prometheus when ``PROMETHEUS_URL`` is set (it scrapes the agents itself), else the built-in store
the collector fills (apps.monitoring.collector). Both answer in the logical metrics of
apps.monitoring.metrics, with the same methods:

    series(kind, metric, uuids, start, end, step) -> {uuid: [(unix_ts, value), ...]}
    aggregate(kind, metric, uuids, window_seconds, how="avg") -> {uuid: value}
    top(kind, metric, window_seconds, n, uuids=None, how="avg", descending=True) -> [(uuid, value)]

A resource without data is absent from an answer, never given a made-up 0.
"""
from django.conf import settings

from .base import MAX_POINTS, StoreUnavailable


def get_store():
    if settings.PROMETHEUS_URL:
        from .prometheus import PrometheusStore

        return PrometheusStore(settings.PROMETHEUS_URL, timeout=settings.PROMETHEUS_TIMEOUT)
    from .builtin import BuiltinStore

    return BuiltinStore()


__all__ = ["MAX_POINTS", "StoreUnavailable", "get_store"]

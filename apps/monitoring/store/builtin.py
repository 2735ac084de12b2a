"""The built-in metrics store: rows of apps.monitoring.models.MetricPoint, filled by the collector
(apps.monitoring.collector), for installs without Prometheus.

A value at time t is the average of the buckets that start in the step (or window) ending at t, read
from the finest resolution that still holds the period asked for.
"""
import time

from django.db.models import Avg, Max, Min, OuterRef, Subquery

from ..models import RESOLUTIONS, MetricPoint
from .base import checked_aggregate_args, checked_series_args

_SQL = {"avg": Avg, "max": Max, "min": Min}


def resolution_for(start, now):
    """The bucket size to read from ``start`` on: the finest still holding ``start`` (the freshest
    too: coarser rows wait for their minute or hour to end), else the coarsest kept."""
    for size, kept in RESOLUTIONS:
        if now - start <= kept + size:
            return size
    return RESOLUTIONS[-1][0]


def resolution_for_window(window):
    """The bucket size to aggregate a window from: the coarsest that still gives the window thirty
    buckets or more (an hour's top-N reads minutes, not six times as many 10-second rows), else the
    finest holding it."""
    holding = [size for size, kept in RESOLUTIONS if window <= kept + size]
    enough = [size for size in holding if size * 30 <= window]
    return max(enough) if enough else (min(holding) if holding else RESOLUTIONS[-1][0])


# resources named in one statement (SQLite limits the parameters of a statement)
CHUNK = 2000


def _chunks(uuids):
    """All resources (None), or the named ones a chunk at a time."""
    if uuids is None:
        yield None
        return
    uuids = list(uuids)
    for at in range(0, len(uuids), CHUNK):
        yield uuids[at:at + CHUNK]


def _ranked(pairs, n, descending):
    return sorted(pairs, key=lambda item: (-item[1] if descending else item[1], item[0]))[:n]


def _rows(kind, uuids, resolution):
    rows = MetricPoint.objects.filter(kind=kind, resolution=resolution)
    return rows if uuids is None else rows.filter(uuid__in=[str(u) for u in uuids])


class BuiltinStore:
    name = "builtin"

    def __init__(self, clock=time.time):
        self.clock = clock

    def series(self, kind, metric, uuids, start, end, step):
        found = checked_series_args(kind, metric, start, end, step)
        resolution = resolution_for(start, self.clock())
        sums = {}
        for chunk in _chunks(uuids):
            rows = (_rows(kind, chunk, resolution)
                    .filter(ts__gte=start - step, ts__lt=end, **{f"{found.name}__isnull": False})
                    .values_list("uuid", "ts", found.name))
            for uuid, ts, value in rows.iterator(chunk_size=5000):
                at = start + ((ts - start) // step + 1) * step     # the step point whose step holds the bucket
                if at <= end:
                    total = sums.setdefault(uuid, {}).setdefault(at, [0.0, 0])
                    total[0] += value
                    total[1] += 1
        return {uuid: [(at, total / count) for at, (total, count) in sorted(points.items())]
                for uuid, points in sums.items()}

    def _window(self, kind, metric, uuids, window):
        now = self.clock()
        rows = _rows(kind, uuids, resolution_for_window(window))
        return rows.filter(ts__gte=now - window, **{f"{metric.name}__isnull": False})

    def _values(self, kind, metric, uuids, window, how):
        """(uuid, value) of the named resources (a chunk of them) over the window."""
        rows = self._window(kind, metric, uuids, window)
        if how == "last":
            newest = rows.filter(uuid=OuterRef("uuid")).order_by("-ts").values("ts")[:1]
            return rows.filter(ts=Subquery(newest)).values_list("uuid", metric.name)
        return rows.values("uuid").annotate(v=_SQL[how](metric.name)).values_list("uuid", "v")

    def aggregate(self, kind, metric, uuids, window_seconds, how="avg"):
        found = checked_aggregate_args(kind, metric, window_seconds, how)
        answer = {}
        for chunk in _chunks(uuids):
            answer.update(self._values(kind, found, chunk, window_seconds, how).order_by())
        return answer

    def top(self, kind, metric, window_seconds, n, uuids=None, how="avg", descending=True):
        found = checked_aggregate_args(kind, metric, window_seconds, how)
        best = []
        for chunk in _chunks(uuids):
            values = self._values(kind, found, chunk, window_seconds, how)
            if how != "last":   # the database ranks; "last" is ranked here
                values = values.order_by("-v" if descending else "v", "uuid")[:n]
            best = _ranked(list(best) + list(values), n, descending)
        return best

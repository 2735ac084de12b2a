"""The metric charts of host and VM pages: what each chart draws, the periods it shows, and the
series read from the store for them (the pages' first render, a period switch, the live points).

A chart's points sit on a grid of its step (multiples of it in unix time), each the average over
the step ending at it; the last is the step that ended last. The step under way is left out: half
of it read as a whole step would under-read a rate (Prometheus's rate() over a range reaching past
its last sample).
"""
import time
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import RESOLUTIONS
from .store import get_store
from .store.base import sample_interval

KINDS = {"vm": "vm-instances", "host": "hosts"}   # metric kind -> the API basename of its resources


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    unit: str                # "%", "bytes" or "bytes/s": how the browser writes its values
    metrics: tuple           # (metric name, label) drawn as its lines


CHARTS = (
    Chart("cpu", _("CPU"), "%", (("cpu", _("CPU")),)),
    Chart("memory", _("Memory"), "bytes", (("memory_used", _("Used")),)),
    Chart("disk", _("Disk"), "bytes/s", (("disk_read_bps", _("Read")), ("disk_write_bps", _("Write")))),
    Chart("network", _("Network"), "bytes/s", (("net_rx_bps", _("Received")), ("net_tx_bps", _("Sent")))),
)
METRICS = tuple(name for chart in CHARTS for name, _label in chart.metrics)

# period -> (seconds shown, step; None: the hour's, which follows the sample interval)
PERIODS = {"hour": (3600, None), "day": (86400, 120), "week": (7 * 86400, 3600), "month": (30 * 86400, 3 * 3600)}
PERIOD_LABELS = {"hour": _("Hour"), "day": _("Day"), "week": _("Week"), "month": _("Month")}
LIVE_PERIOD = "hour"


def hour_step():
    """The hour chart's step: a sample each, but no finer than the built-in store's finest bucket
    (a finer grid would show every other point missing)."""
    return max(sample_interval(), RESOLUTIONS[0][0])


def step_of(period):
    return PERIODS[period][1] or hour_step()


def grid(period, now):
    """``(start, end, step)`` of ``period`` ending with the last step ended at ``now``: its points
    are the steps ending at ``start``, ``start + step`` ... ``end``, the ``period`` exactly (a
    point at ``end - period`` would be the average of a step before it, which the built-in store
    may have dropped)."""
    seconds, step = PERIODS[period][0], step_of(period)
    end = int(now) // step * step
    return end - seconds + step, end, step


def read(kind, uuid, period, now=None, store=None):
    """The chart figures of one resource over ``period``: ``{"period", "start", "end", "step",
    "series": {metric: [[ts, value], ...]}}`` (a metric without data: an empty list). Raises the
    store's StoreUnavailable."""
    start, end, step = grid(period, time.time() if now is None else now)
    found = points_between(kind, [uuid], start, end, step, store)
    return {"period": period, "start": start, "end": end, "step": step,
            "series": found.get(uuid, {name: [] for name in METRICS})}


def points_between(kind, uuids, start, end, step, store=None):
    """``{uuid: {metric: [[ts, value], ...]}}`` of every chart metric from ``start`` to ``end``
    (both on the grid of ``step``); a resource with no point at all is absent."""
    store = store or get_store()
    found = {}
    for metric in METRICS:
        for uuid, points in store.series(kind, metric, uuids, start, end, step).items():
            found.setdefault(uuid, {name: [] for name in METRICS})[metric] = [[ts, value] for ts, value in points]
    return found


def described():
    """The charts as the browser draws them (titles and labels in the page's language)."""
    return [{"id": chart.id, "title": str(chart.title), "unit": chart.unit,
             "series": [{"metric": name, "label": str(label)} for name, label in chart.metrics]}
            for chart in CHARTS]

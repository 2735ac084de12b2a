"""The built-in store's collector (beat, every monitoring.sampleInterval): reads every Connected
host's agent, turns counters into rates, writes one 10-second row per resource, rolls finished
minutes and hours up into coarser rows, and prunes what is past keeping.

Everything it remembers between samples (the last counters) is in the database, so any worker
may take the next sample.
"""
import time

from django.db import connection
from django.db.models import Avg

from .metrics import ALL_NAMES, METRICS
from .models import RESOLUTIONS, MetricCursor, MetricPoint
from .scrape import metrics_token, read_all


def _targets():
    from apps.infra.agent import agent_url
    from apps.infra.models import Host

    hosts = Host.objects.filter(status="Connected").only("uuid", "hypervisor_type", "management_ip", "agent_port",
                                                         "agent_secret")
    return [(f"{agent_url(h)}/metrics/{h.uuid}", metrics_token(h.agent_secret, str(h.uuid))) for h in hosts]


def values_of(reading, cursor):
    """The logical metrics of one reading; rates against the last counters (none without them, or
    when a counter went back: an agent restarted)."""
    values = {}
    for metric in METRICS[reading.kind].values():
        first = metric.series[0]
        if metric.how == "gauge":
            values[metric.name] = reading.gauges.get(first)
        elif metric.how == "ratio":
            used, total = reading.gauges.get(first), reading.gauges.get(metric.series[1])
            values[metric.name] = 100.0 * used / total if used is not None and total else None
        else:
            now, then = reading.counters.get(first), (cursor.counters.get(first) if cursor else None)
            elapsed = reading.ts - cursor.ts if cursor else 0
            ok = now is not None and then is not None and elapsed > 0 and now >= then
            values[metric.name] = (now - then) / elapsed if ok else None
    return values


def _upsert(model, rows, unique, update):
    # MySQL/MariaDB upsert on any unique key and take no target; SQLite and PostgreSQL need it
    target = unique if connection.features.supports_update_conflicts_with_target else None
    model.objects.bulk_create(rows, batch_size=1000, update_conflicts=True, unique_fields=target,
                              update_fields=update)


def store(readings, now):
    """Write the 10-second rows and cursors of ``readings``; returns the rows written."""
    cursors = {(c.kind, c.uuid): c for c in MetricCursor.objects.all()}
    bucket = int(now // 10 * 10)
    points, kept = [], []
    for key, reading in readings.items():
        values = values_of(reading, cursors.get(key))
        points.append(MetricPoint(kind=reading.kind, uuid=reading.uuid, resolution=10, ts=bucket, **values))
        kept.append(MetricCursor(kind=reading.kind, uuid=reading.uuid, ts=reading.ts, counters=reading.counters))
    _upsert(MetricPoint, points, ["resolution", "kind", "uuid", "ts"], list(ALL_NAMES))
    _upsert(MetricCursor, kept, ["kind", "uuid"], ["ts", "counters"])
    return len(points)


def roll_up(now):
    """Average each finished minute's 10-second rows into a 1-minute row, and each finished hour's
    1-minute rows into a 1-hour row (the last two of each, so one missed sample does not lose one)."""
    written = 0
    for (finer, _), (size, _) in zip(RESOLUTIONS, RESOLUTIONS[1:]):
        latest = int(now // size * size) - size
        for start in (latest - size, latest):
            if MetricPoint.objects.filter(resolution=size, ts=start).exists():
                continue
            averages = (MetricPoint.objects.filter(resolution=finer, ts__gte=start, ts__lt=start + size)
                        .values("kind", "uuid").annotate(**{f"avg_{n}": Avg(n) for n in ALL_NAMES}).order_by())
            rows = [MetricPoint(kind=a["kind"], uuid=a["uuid"], resolution=size, ts=start,
                                **{n: a[f"avg_{n}"] for n in ALL_NAMES}) for a in averages]
            _upsert(MetricPoint, rows, ["resolution", "kind", "uuid", "ts"], list(ALL_NAMES))
            written += len(rows)
    return written


def prune(now):
    deleted = 0
    for size, kept in RESOLUTIONS:
        deleted += MetricPoint.objects.filter(resolution=size, ts__lt=now - kept - size).delete()[0]
    # resources gone for an hour (deleted VMs, removed hosts): their next sample starts afresh
    MetricCursor.objects.filter(ts__lt=now - RESOLUTIONS[0][1]).delete()
    return deleted


def collect(targets=None, now=None, timeout=None):
    """One sample of every Connected host (or ``[(url, token)]`` given): returns what it did."""
    from .globalconfig import SAMPLE_INTERVAL

    interval = SAMPLE_INTERVAL.value()
    targets = _targets() if targets is None else targets
    if not targets:      # nothing to read (and nothing new to roll up): no write at all
        return {"targets": 0, "resources": 0, "rolled_up": 0, "pruned": 0}
    readings = read_all(targets, timeout or min(interval, 10))
    now = time.time() if now is None else now
    return {"targets": len(targets), "resources": store(readings, now), "rolled_up": roll_up(now),
            "pruned": prune(now)}

"""``/ws/events/``'s ``metrics`` subscription (apps.core.events.streams): the hour chart of a host
or VM page gains its points as samples land, pushed over the socket the page already has.

The points are read, not published: every sample interval, each connection that follows some
resources reads their points since the last it sent from the store. A publish from the collector
would serve only the built-in store (with Prometheus the portal sees no sample land: Prometheus
scrapes the agents itself); a read serves both, at one small range query per chart metric per
connection and interval, and needs nothing shared between processes.
"""
import time

from apps.core.events.streams import Stream

def resource_models():
    from apps.compute.models import VmInstance
    from apps.infra.models import Host

    return {"vm": VmInstance, "host": Host}


def kinds_of(uuids, user=None):
    """``{uuid: "vm" | "host"}`` of the ``uuids`` that are VMs or hosts (that ``user`` may read)."""
    from apps.core.tenancy import visible

    found = {}
    for kind, model in resource_models().items():
        rows = model.objects.filter(uuid__in=[one for one in uuids if one not in found])
        if user is not None:
            rows = visible(rows, user)
        found.update((str(u), kind) for u in rows.values_list("uuid", flat=True))
    return found


class MetricsStream(Stream):
    def __init__(self, clock=time.time):
        self.clock = clock

    def allowed(self, user, uuids):
        return list(kinds_of(uuids, user))

    def interval(self):
        from .store.base import sample_interval

        return sample_interval()

    def start(self, uuids):
        from .charts import LIVE_PERIOD, grid

        _start, end, step = grid(LIVE_PERIOD, self.clock())
        # from the last step ended: the page was rendered a moment ago
        return {one: {"kind": kind, "since": end} for one, kind in kinds_of(uuids).items()}

    def read(self, cursors):
        from .charts import LIVE_PERIOD, grid, points_between

        first, end, step = grid(LIVE_PERIOD, self.clock())
        messages, moved = [], {}
        for kind in ("host", "vm"):
            mine = {one: cursor for one, cursor in cursors.items() if cursor["kind"] == kind}
            if not mine:
                continue
            # the step a cursor names is read again: a late sample may have landed in it
            # a connection that saw nothing for long reads back no further than the hour chart
            start = max(min(cursor["since"] for cursor in mine.values()), first)
            start -= (start - end) % step   # on the grid
            for one, series in points_between(kind, list(mine), start, end, step).items():
                since = mine[one]["since"]
                points = {metric: [p for p in found if p[0] >= since] for metric, found in series.items()}
                points = {metric: found for metric, found in points.items() if found}
                if points:
                    messages.append({"type": "metrics", "kind": kind, "uuid": one, "step": step, "points": points})
                    last = max(p[0] for found in points.values() for p in found)
                    # the newest step is read again next time (a late sample), an older one no more
                    moved[one] = {"kind": kind, "since": last if last >= end else last + step}
        return messages, {**cursors, **moved}

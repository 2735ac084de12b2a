"""Database relay for events (zero-setup mode, no Redis).

One asyncio task per web process polls the ``Event`` table for rows newer than
the last it saw and hands them to the process's in-memory channel layer, where
the websocket consumers of that process are subscribed. Rows older than a few
minutes are pruned.
"""
import asyncio
import logging
from datetime import timedelta

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3
KEEP = timedelta(minutes=5)
_task = None
_started = None


# Ids are not always committed in order (two writers on MariaDB): rows younger
# than LATE are read again on every poll and ids already sent are skipped.
LATE = timedelta(seconds=5)


def _fetch(after_id, sent):
    from django.db.models import Q

    from ..models import Event

    close_old_connections()
    recent = timezone.now() - LATE
    if after_id is None:  # start: what is already there counts as sent
        for event_id, created in Event.objects.filter(created_at__gte=recent).values_list("id", "created_at"):
            sent[event_id] = created
        last = Event.objects.order_by("-id").values_list("id", flat=True).first()
        return (last or 0), []
    rows = list(Event.objects.filter(Q(id__gt=after_id) | Q(created_at__gte=recent, id__gt=after_id - 1000))
                .order_by("id").values("id", "groups", "payload", "created_at")[:500])
    fresh = [row for row in rows if row["id"] not in sent]
    for row in fresh:
        sent[row["id"]] = row["created_at"]
    for event_id, created in list(sent.items()):
        if created < recent - LATE:
            del sent[event_id]
    if rows and rows[-1]["id"] % 200 == 0:
        Event.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return max([after_id] + [row["id"] for row in rows]), fresh


async def _relay_loop(started):
    layer = get_channel_layer()
    sent = {}
    # where relaying starts: set before the first subscriber is accepted, so nothing it may wait
    # for is taken for an old event
    while True:
        try:
            last_id, _ = await sync_to_async(_fetch, thread_sensitive=False)(None, sent)
            break
        except Exception:
            log.exception("event relay could not start")
            await asyncio.sleep(POLL_SECONDS)
    started.set_result(True)
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            last_id, rows = await sync_to_async(_fetch, thread_sensitive=False)(last_id, sent)
            for row in rows:
                for group in row["groups"]:
                    await layer.group_send(group, {"type": "event.message", "payload": row["payload"]})
        except Exception:
            log.exception("event relay poll failed")


async def ensure_relay_running():
    """Start the relay in this process's event loop (idempotent); returns once it has its start."""
    global _task, _started
    loop = asyncio.get_running_loop()
    # a task of another loop (one that ended: a test's, a restarted server's) never relays again
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _started = loop.create_future()
        _task = loop.create_task(_relay_loop(_started))
    await asyncio.wait([_started, _task], return_when=asyncio.FIRST_COMPLETED)

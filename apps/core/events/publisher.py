"""One event loop thread per process that sends events to the channel layer.

``async_to_sync(layer.group_send)`` from synchronous code starts a fresh event
loop per call, and channels_redis opens a fresh connection per loop: about 7 ms
per event. Here one long-lived loop owns the layer's connections and sends the
queued events in order, and callers return at once. Pending events are flushed
(for up to two seconds) when the process exits.
"""
import asyncio
import atexit
import logging
import threading

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state = {"loop": None, "queue": None, "thread": None, "pid": None}


def _start():
    import os

    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def main():
        asyncio.set_event_loop(loop)
        _state["queue"] = asyncio.Queue()
        ready.set()
        loop.run_until_complete(_drain(_state["queue"]))

    thread = threading.Thread(target=main, name="event-publisher", daemon=True)
    thread.start()
    ready.wait()
    _state.update(loop=loop, thread=thread, pid=os.getpid())


async def _drain(queue):
    layer = get_channel_layer()
    while True:
        item = await queue.get()
        if item is None:
            queue.task_done()
            return
        groups, payload = item
        try:
            for group in groups:
                await layer.group_send(group, {"type": "event.message", "payload": payload})
        except Exception:
            log.exception("could not publish event %s", payload.get("type"))
        finally:
            queue.task_done()


def submit(groups, payload):
    import os

    with _lock:
        if _state["loop"] is None or _state["pid"] != os.getpid() or not _state["thread"].is_alive():
            _start()  # first use, or a forked child that inherited a dead thread
    _state["loop"].call_soon_threadsafe(_state["queue"].put_nowait, (groups, payload))


def flush(timeout=2.0):
    """Wait until every submitted event was sent (tests, process exit)."""
    loop, queue = _state["loop"], _state["queue"]
    if loop is None or not _state["thread"].is_alive():
        return
    future = asyncio.run_coroutine_threadsafe(queue.join(), loop)
    try:
        future.result(timeout)
    except Exception:  # noqa: BLE001 - best effort at exit
        log.warning("event publisher: some events were not sent before exit")


atexit.register(flush)

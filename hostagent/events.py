"""Reports VM state changes seen outside requests to the portal, signed like requests.

POST {portal_url}/api/v1/hosts/agent-events/  {"host_uuid", "events": [{"type": "vm.state", ...}]}
Delivery runs in background tasks with retries and backoff; it never blocks request handling.
"""
import asyncio
import logging
import time
import urllib.parse

import aiohttp

from .signing import encode_body, new_request_id, signed_headers

log = logging.getLogger("hostagent.events")
EVENTS_PATH = "/api/v1/hosts/agent-events/"


class EventReporter:
    def __init__(self, target_for, retries=5, backoff=1.0, timeout=10.0, max_queue=10000, concurrency=8):
        """``target_for(host_uuid)`` -> ``(portal_url, secret)`` or None when there is nowhere to send."""
        self.target_for = target_for
        self.retries = retries
        self.backoff = max(1.0, backoff)  # each attempt is re-signed; a new second avoids a replay refusal
        self.timeout = timeout
        self.max_queue = max_queue
        self._sem = None
        self._concurrency = concurrency
        self._queue = None
        self._loop = None
        self._session = None
        self._worker = None
        self._tasks = set()
        self.sent = 0
        self.dropped = 0

    def start(self, loop):
        self._loop = loop
        self._queue = asyncio.Queue()
        self._sem = asyncio.Semaphore(self._concurrency)
        self._worker = loop.create_task(self._run())

    async def close(self):
        if self._worker:
            self._worker.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._session:
            await self._session.close()

    # Thread-safe: the libvirt event thread calls this.
    def vm_state(self, host_uuid, vm_uuid, state, at=None):
        event = {"type": "vm.state", "vm_uuid": vm_uuid, "state": state, "time": at or time.time()}
        if self._loop is None:
            log.warning("event for VM %s dropped: the reporter is not running", vm_uuid)
            return
        self._loop.call_soon_threadsafe(self._enqueue, host_uuid, event)

    def _enqueue(self, host_uuid, event):
        if self._queue.qsize() >= self.max_queue:
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait((host_uuid, event))

    async def _run(self):
        while True:
            item = await self._queue.get()
            batch = [item]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            groups = {}
            for host_uuid, event in batch:
                groups.setdefault(host_uuid, []).append(event)
            for host_uuid, events in groups.items():
                task = asyncio.ensure_future(self._send(host_uuid, events))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send(self, host_uuid, events):
        async with self._sem:
            target = self.target_for(host_uuid)
            if not target or not target[0]:
                log.info("%d event(s) of host %s dropped: no portal_url yet (connect sets it)", len(events), host_uuid)
                self.dropped += len(events)
                return
            portal_url, secret = target
            url = portal_url.rstrip("/") + EVENTS_PATH
            path = urllib.parse.urlsplit(url).path
            body = encode_body({"host_uuid": host_uuid, "events": events})
            request_id = new_request_id()
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            for attempt in range(self.retries + 1):
                if attempt:
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                headers = signed_headers(host_uuid, secret, "POST", path, body, request_id)
                try:
                    async with self._session.post(url, data=body, headers=headers) as response:
                        status = response.status
                        await response.read()
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    log.warning("sending %d event(s) to %s failed (attempt %d): %s", len(events), url, attempt + 1, exc)
                    continue
                if 200 <= status < 300:
                    self.sent += len(events)
                    log.info("reported %d event(s) of host %s to %s", len(events), host_uuid, url)
                    return
                log.warning("the portal answered %d to %d event(s) (attempt %d)", status, len(events), attempt + 1)
                if 400 <= status < 500 and status not in (408, 409, 425, 429):
                    break
            self.dropped += len(events)
            log.error("gave up reporting %d event(s) of host %s to %s", len(events), host_uuid, url)

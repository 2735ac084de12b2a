"""The background sampler: every ``sample_interval`` seconds it asks the backend for one sample of
every host it serves and keeps the latest, which ``GET /metrics/<host_uuid>`` serves.

A scrape never triggers a sample: Prometheus (or the portal's built-in store) may scrape as often
as it likes and the hypervisor is asked once per interval. A failed sample drops the previous one,
and so does a sample that has not finished for three intervals, so a scrape answers 503 rather
than figures that have stopped moving.
"""
import asyncio
import concurrent.futures
import logging
import time

from .errors import AgentFailure
from .exposition import render

log = logging.getLogger("hostagent.sampling")

MIN_INTERVAL = 1.0
MAX_INTERVAL = 3600.0
DEFAULT_INTERVAL = 10.0


def check_interval(value):
    """The interval as a float, or ValueError saying what is allowed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ValueError(f"sample_interval must be a number of seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}")
    return float(value)


class Sampler:
    def __init__(self, backend, interval=DEFAULT_INTERVAL):
        self.backend = backend
        self.interval = check_interval(interval)
        self.samples = {}          # host uuid -> HostSample of the latest sample
        self.taken_at = None       # unix time the latest sample started
        self.duration = None       # seconds the latest sample took
        self.count = 0
        self._rendered = {}        # host uuid -> exposition bytes of the latest sample
        self._wake = None
        self._task = None
        self._failing = False
        # A blocking backend samples in a thread of its own, so a sample never waits behind queued
        # operations or reads, and they never wait behind it.
        self._executor = (concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hostagent-sample")
                          if backend.blocking else None)

    def start(self, loop):
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run())

    async def close(self):
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def set_interval(self, seconds):
        """Sample every ``seconds`` from now on (the portal sends its ``monitoring.sampleInterval``)."""
        seconds = check_interval(seconds)
        if seconds != self.interval:
            log.info("sampling every %g s (was %g s)", seconds, self.interval)
            self.interval = seconds
            if self._wake is not None:
                self._wake.set()

    async def sample_once(self):
        started, clock = time.time(), time.perf_counter()
        try:
            if self._executor is not None:
                samples = await asyncio.get_running_loop().run_in_executor(self._executor, self.backend.sample)
            else:
                samples = self.backend.sample()
        except AgentFailure as failure:   # libvirtd unreachable, a libvirt error: said once per spell
            if not self._failing:
                log.error("sampling failed (%s); /metrics answers 503 until a sample works", failure.message)
            self._failing = True
            self.samples, self._rendered = {}, {}
            return
        except Exception:  # noqa: BLE001 - a bug: logged with its traceback; the loop goes on
            if not self._failing:
                log.exception("sampling failed; /metrics answers 503 until a sample works")
            self._failing = True
            self.samples, self._rendered = {}, {}
            return
        if self._failing:
            log.info("sampling works again")
        self._failing = False
        self.samples, self._rendered = samples, {}
        self.taken_at, self.duration = started, time.perf_counter() - clock
        self.count += 1

    async def _run(self):
        while True:
            began = time.monotonic()
            await self.sample_once()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, self.interval - (time.monotonic() - began)))
            except asyncio.TimeoutError:
                pass

    def stale(self):
        """Whether the latest sample is too old to show: a sample stuck in the hypervisor must not
        pass for the present (a scrape then answers 503 and Prometheus marks the target down)."""
        return self.taken_at is None or time.time() - self.taken_at > max(3 * self.interval, self.interval + 30)

    def exposition(self, host_uuid):
        """The latest sample of ``host_uuid`` as exposition bytes, or None when there is none."""
        if self.stale():
            return None
        text = self._rendered.get(host_uuid)
        if text is None:
            sample = self.samples.get(host_uuid)
            if sample is None:
                return None
            text = self._rendered[host_uuid] = render(sample, (
                ("cloudportal_agent_sample_duration_seconds", "seconds the agent's latest sample took",
                 self.duration),
                ("cloudportal_agent_sample_timestamp_seconds", "unix time the agent's latest sample started",
                 self.taken_at)))
        return text

"""Reading the agents' metrics exposition (GET /metrics/{host_uuid}, Prometheus text format) for
the built-in store: many hosts at once, each with its own credential, each read bounded in time.
"""
import asyncio
import hashlib
import hmac
import logging
import time

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)
_PREFIXES = (("cloudportal_host_", "host", "host_uuid"), ("cloudportal_vm_", "vm", "vm_uuid"))
# hosts read at the same time: enough to hide the agents' latency, few enough not to flood one
# simulator agent that serves them all
CONCURRENCY = 32


def metrics_token(secret, host_uuid):
    """The credential an agent's /metrics/{host_uuid} takes (the issue 17 contract): an HMAC of the
    host's secret, so Prometheus can be given it without the secret itself."""
    return hmac.new(secret.encode(), f"metrics:{host_uuid}".encode(), hashlib.sha256).hexdigest()


class Reading:
    """What one exposition says of one resource: its gauges, and its counters summed over devices."""

    __slots__ = ("kind", "uuid", "ts", "gauges", "counters")

    def __init__(self, kind, uuid, ts):
        self.kind, self.uuid, self.ts = kind, uuid, ts
        self.gauges, self.counters = {}, {}


def parse(text, ts):
    """The readings of every host and VM in an exposition, keyed by (kind, uuid)."""
    readings = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for prefix, kind, label in _PREFIXES:
                if sample.name.startswith(prefix) and label in sample.labels:
                    uuid = sample.labels[label]
                    reading = readings.get((kind, uuid)) or readings.setdefault((kind, uuid), Reading(kind, uuid, ts))
                    series = sample.name[len(prefix):]
                    if series.endswith("_total"):
                        reading.counters[series] = reading.counters.get(series, 0.0) + sample.value
                    else:
                        reading.gauges[series] = sample.value
                    break
    return readings


async def _read(session, semaphore, url, token):
    async with semaphore:
        try:
            async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                if response.status != 200:
                    log.warning("metrics of %s: the agent answered %s", url, response.status)
                    return None
                return await response.text(), time.time()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("metrics of %s: %s", url, exc.__class__.__name__)
            return None


async def _read_all(targets, timeout):
    semaphore = asyncio.Semaphore(CONCURRENCY)
    limits = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=limits, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        return await asyncio.gather(*(_read(session, semaphore, url, token) for url, token in targets))


def read_all(targets, timeout):
    """``[(url, token)]`` -> the readings of every resource the agents answered for (one that does
    not answer in ``timeout`` seconds, or refuses, is left out and logged)."""
    readings = {}
    for answer in asyncio.run(_read_all(targets, timeout)):
        if answer is not None:
            try:
                readings.update(parse(*answer))
            except ValueError:
                log.warning("metrics exposition not in the Prometheus text format; ignored")
    return readings

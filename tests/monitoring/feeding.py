"""Samples written through the built-in store's own write path (apps.monitoring.collector.store,
what the collector does with what it read from the agents), for the console's tests."""
from apps.monitoring.collector import store
from apps.monitoring.scrape import Reading


def sample(now, resources):
    """One sample at ``now`` of ``{(kind, uuid): {"cpu": %, "memory_used": bytes, "bytes": n}}``:
    ``bytes`` is the disks' and NICs' counters so far (read n, written n/2, received 2n, sent n),
    their rates coming from two samples."""
    readings = {}
    for (kind, uuid), figures in resources.items():
        reading = Reading(kind, str(uuid), now)
        reading.gauges = {"cpu_percent": figures.get("cpu"), "memory_used_bytes": figures.get("memory_used"),
                          "memory_total_bytes": figures.get("memory_total")}
        reading.gauges = {name: value for name, value in reading.gauges.items() if value is not None}
        if "bytes" in figures:
            n = figures["bytes"]
            reading.counters = {"disk_read_bytes_total": n, "disk_write_bytes_total": n / 2,
                                "network_rx_bytes_total": 2 * n, "network_tx_bytes_total": n}
        readings[(kind, str(uuid))] = reading
    return store(readings, now)

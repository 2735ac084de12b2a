"""The logical metrics of hosts and VMs: the names the API, the console and alarm rules use, and
the agent series (docs/monitoring.md, "Metrics") each is read from.

A metric is a gauge (read as the agent reports it), a ratio of two gauges, or a rate: a per-second
rate of a counter, summed over the resource's devices (disks, NICs). Both stores answer in these
names and units, so nothing above them knows which store is in use.
"""
from dataclasses import dataclass

KINDS = ("host", "vm")
# the label that names the resource in the agent's series
LABELS = {"host": "host_uuid", "vm": "vm_uuid"}


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    description: str
    how: str                 # "gauge", "ratio" or "rate"
    series: tuple            # the agent series it is read from (a ratio: numerator, denominator)

    def source(self, kind):
        return tuple(f"cloudportal_{kind}_{s}" for s in self.series)


def _rates(kind):
    """The disk and network rates, the same for hosts and VMs."""
    pairs = [("disk_read_bps", "disk_read_bytes_total", "bytes/s", "bytes read from disks per second"),
             ("disk_write_bps", "disk_write_bytes_total", "bytes/s", "bytes written to disks per second"),
             ("disk_read_iops", "disk_read_ops_total", "ops/s", "disk read operations per second"),
             ("disk_write_iops", "disk_write_ops_total", "ops/s", "disk write operations per second"),
             ("net_rx_bps", "network_rx_bytes_total", "bytes/s", "bytes received per second, all NICs"),
             ("net_tx_bps", "network_tx_bytes_total", "bytes/s", "bytes sent per second, all NICs"),
             ("net_rx_pps", "network_rx_packets_total", "packets/s", "packets received per second, all NICs"),
             ("net_tx_pps", "network_tx_packets_total", "packets/s", "packets sent per second, all NICs")]
    return [Metric(name, unit, description, "rate", (counter,)) for name, counter, unit, description in pairs]


METRICS = {
    "host": {m.name: m for m in [
        Metric("cpu", "%", "CPU busy, all CPUs", "gauge", ("cpu_percent",)),
        Metric("memory_used", "bytes", "memory in use", "gauge", ("memory_used_bytes",)),
        Metric("memory_used_percent", "%", "memory in use, of all memory", "ratio",
               ("memory_used_bytes", "memory_total_bytes")),
        Metric("load1", "", "load average over a minute", "gauge", ("load1",)),
        *_rates("host"),
    ]},
    "vm": {m.name: m for m in [
        Metric("cpu", "%", "CPU busy, of the VM's vCPUs", "gauge", ("cpu_percent",)),
        Metric("memory_used", "bytes", "memory the guest uses (where its balloon driver tells)", "gauge",
               ("memory_used_bytes",)),
        *_rates("vm"),
    ]},
}
# every metric name of either kind: the built-in store keeps one column per name
ALL_NAMES = tuple(dict.fromkeys(name for kind in KINDS for name in METRICS[kind]))
AGGREGATIONS = ("avg", "max", "min", "last")


def metric(kind, name):
    """The metric ``name`` of ``kind``, or InvalidArgument naming what exists."""
    from apps.core.errors import InvalidArgument

    if kind not in METRICS:
        raise InvalidArgument(f"unknown resource kind '{kind}': one of {', '.join(KINDS)}",
                              code="UNKNOWN_METRIC_KIND", details={"kind": kind})
    found = METRICS[kind].get(name)
    if found is None:
        raise InvalidArgument(f"unknown {kind} metric '{name}': one of {', '.join(METRICS[kind])}",
                              code="UNKNOWN_METRIC", details={"metric": name})
    return found

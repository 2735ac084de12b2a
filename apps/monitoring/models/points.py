"""The built-in metrics store's rows (apps.monitoring.store.builtin).

One row per resource per time bucket, with every metric of it in its own column: 10-second
buckets kept for an hour, 1-minute buckets for a day, 1-hour buckets for a month (rolled up from
the finer ones, as rrdtool does). A row holds averages; a metric the resource does not report is
NULL, never 0.
"""
from django.db import models

# (bucket seconds, seconds kept)
RESOLUTIONS = ((10, 3600), (60, 86400), (3600, 31 * 86400))


class MetricPoint(models.Model):
    kind = models.CharField(max_length=4)                 # "host" or "vm"
    uuid = models.CharField(max_length=36)                # the resource's uuid, as the API shows it
    resolution = models.PositiveIntegerField()            # bucket seconds: 10, 60 or 3600
    ts = models.BigIntegerField()                         # unix seconds of the bucket's start
    # one column per metric name (apps.monitoring.metrics.ALL_NAMES)
    cpu = models.FloatField(null=True)
    memory_used = models.FloatField(null=True)
    memory_used_percent = models.FloatField(null=True)
    load1 = models.FloatField(null=True)
    disk_read_bps = models.FloatField(null=True)
    disk_write_bps = models.FloatField(null=True)
    disk_read_iops = models.FloatField(null=True)
    disk_write_iops = models.FloatField(null=True)
    net_rx_bps = models.FloatField(null=True)
    net_tx_bps = models.FloatField(null=True)
    net_rx_pps = models.FloatField(null=True)
    net_tx_pps = models.FloatField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resolution", "kind", "uuid", "ts"],
                                               name="metricpoint_bucket")]
        # top-N and pruning read one resolution's recent buckets of every resource
        indexes = [models.Index(fields=["resolution", "kind", "ts"], name="metricpoint_recent")]


class MetricCursor(models.Model):
    """The last counters read from a resource (summed over its devices) and when: what the next
    sample's rates are computed from, kept in the database so any worker can take the next one."""

    kind = models.CharField(max_length=4)
    uuid = models.CharField(max_length=36)
    ts = models.FloatField()
    counters = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "uuid"], name="metriccursor_resource")]


class CollectorRun(models.Model):
    """The built-in collector's one row: when the last sample began and ended, so that one worker
    at a time takes a due sample (a conditional UPDATE claims it) whichever process beat sent it to."""

    started_at = models.FloatField(default=0)
    finished_at = models.FloatField(default=0)

"""Performance analysis (O3) in the console: the hosts or VMs that use most (or least) of a metric
over a window, filtered with the API's ``q=`` language, as the performance page and the dashboard
show them. The metrics API's top-N answers (``/api/v1/metrics/top/``, called in-process as every
console page calls the API): its filter, its tenancy (a normal account ranks its own VMs), its
messages for a bad question or a store away.
"""
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.tenancy import is_admin, visible
from apps.core.ui.apicall import call
from apps.core.ui.cells import human_bytes

from .live import resource_models

WINDOWS = {"900": _("15 minutes"), "3600": _("1 hour"), "21600": _("6 hours"), "86400": _("1 day"),
           "604800": _("1 week")}
HOWS = {"avg": _("Average"), "max": _("Maximum"), "min": _("Minimum"), "last": _("Latest")}
SIZES = (5, 10, 20, 50)
METRIC_LABELS = {
    "cpu": _("CPU"), "memory_used": _("Memory used"), "memory_used_percent": _("Memory used (%)"),
    "load1": _("Load (1 minute)"), "disk_read_bps": _("Disk read (bytes/s)"),
    "disk_write_bps": _("Disk write (bytes/s)"), "disk_read_iops": _("Disk reads (ops/s)"),
    "disk_write_iops": _("Disk writes (ops/s)"), "net_rx_bps": _("Network received (bytes/s)"),
    "net_tx_bps": _("Network sent (bytes/s)"), "net_rx_pps": _("Packets received (/s)"),
    "net_tx_pps": _("Packets sent (/s)"),
}
BASENAMES = {"vm": "vm-instances", "host": "hosts"}


@dataclass
class Ranked:
    uuid: str
    name: str
    url: str
    value: float
    shown: str       # the value, in its unit
    extra: str = ""  # a VM's state, a host's status


def shown_value(value, unit):
    if unit == "%":
        return f"{value:.1f} %"
    if unit in ("bytes", "bytes/s"):
        return human_bytes(value) + ("/s" if unit == "bytes/s" else "")
    return f"{value:.2f} {unit}".strip()


def top(request, kind, metric, window, n, how="avg", order="desc", conditions=()):
    """``([Ranked, ...], error)``: the API's top-N for the browser's user, or its message."""
    answer = call(request, "GET", reverse("metrics-top"), {"kind": kind, "metric": metric, "window": window, "n": n,
                                                           "how": how, "order": order, "q": list(conditions)})
    if not answer.ok:
        return [], answer.message
    results = answer.data["results"]
    field = "state" if kind == "vm" else "status"
    extra = dict(visible(resource_models()[kind].objects.filter(uuid__in=[r["uuid"] for r in results]),
                         request.user).values_list("uuid", field))
    extra = {str(uuid): value for uuid, value in extra.items()}
    return [Ranked(r["uuid"], r["name"], detail_url(kind, r["uuid"]), r["value"],
                   shown_value(r["value"], answer.data["unit"]), extra.get(r["uuid"], ""))
            for r in results], ""


def detail_url(kind, uuid):
    return reverse("ui:detail", kwargs={"basename": BASENAMES[kind], "uuid": uuid})


def busiest(request, n=5):
    """The dashboard's busiest hosts (admins only: their figures are the infrastructure's) and VMs:
    the most CPU over the last hour. ``{"hosts": [...] or None, "vms": [...], "error": ""}``."""
    vms, error = top(request, "vm", "cpu", 3600, n)
    hosts = None
    if is_admin(request.user) and not error:
        hosts, error = top(request, "host", "cpu", 3600, n)
    return {"hosts": hosts, "vms": vms, "error": error}

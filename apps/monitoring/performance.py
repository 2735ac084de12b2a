"""Performance analysis (O3): the hosts or VMs that use most (or least) of a metric over a window,
filtered with the API's ``q=`` language, as the performance page and the dashboard show them.

The store ranks; the database says which resources the user may see and which match the filter
(core's query language over the resource's own queryset, with the API's tenancy: a normal account
ranks its own VMs only). An admin's unfiltered ranking asks the store about every resource.
"""
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.query import apply_query
from apps.core.tenancy import is_admin, visible
from apps.core.ui.cells import human_bytes

from .live import resource_models
from .metrics import METRICS
from .store import get_store

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
SPARE = 20   # ranked beyond n, for resources the store still has figures of but the portal no longer has


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


def candidates(user, kind, conditions):
    """The uuids of ``kind`` the user may see that match ``conditions`` (None: every one the store
    has, for an admin without a filter). Raises the query language's InvalidArgument."""
    if not conditions and is_admin(user):
        return None
    rows = apply_query(visible(resource_models()[kind].objects.all(), user), conditions, user)
    return [str(u) for u in rows.values_list("uuid", flat=True)]


def top(user, kind, metric, window, n, how="avg", descending=True, conditions=()):
    """``[Ranked, ...]``: the ``n`` first of ``kind`` by ``metric`` that ``user`` may see. Raises
    InvalidArgument (a bad ``q=`` or argument) and StoreUnavailable."""
    uuids = candidates(user, kind, list(conditions))
    if uuids is not None and not uuids:
        return []
    found = get_store().top(kind, metric, window, n + (SPARE if uuids is None else 0), uuids=uuids, how=how,
                            descending=descending)
    model = resource_models()[kind]
    extra_field = "state" if kind == "vm" else "status"
    rows = {str(u): (name, extra) for u, name, extra in visible(model.objects.filter(
        uuid__in=[u for u, _v in found]), user).values_list("uuid", "name", extra_field)}
    unit = METRICS[kind][metric].unit
    basename = "vm-instances" if kind == "vm" else "hosts"
    return [Ranked(uuid, rows[uuid][0], reverse("ui:detail", kwargs={"basename": basename, "uuid": uuid}),
                   value, shown_value(value, unit), rows[uuid][1])
            for uuid, value in found if uuid in rows][:n]


def busiest(user, n=5):
    """The dashboard's busiest hosts (admins only: their figures are the infrastructure's) and VMs:
    the most CPU over the last hour. ``{"hosts": [...] or None, "vms": [...], "error": ""}``."""
    from apps.core.errors import CloudPortalError

    try:
        return {"hosts": top(user, "host", "cpu", 3600, n) if is_admin(user) else None,
                "vms": top(user, "vm", "cpu", 3600, n), "error": ""}
    except CloudPortalError as exc:
        return {"hosts": None, "vms": [], "error": exc.message}

"""``/ui/performance/``: the performance analysis page (apps.monitoring.performance): the top-N
hosts or VMs by a metric over a window, a ``q=`` filter as list pages take it."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _, gettext_lazy

from apps.core.ui.base import split_conditions

from . import performance
from .metrics import METRICS

KIND_LABELS = {"vm": gettext_lazy("Virtual machines"), "host": gettext_lazy("Hosts")}


def _choice(value, allowed, default):
    return value if value in allowed else default


@login_required
def performance_page(request):
    ask = request.GET
    kind = _choice(ask.get("kind"), METRICS, "vm")
    metric = _choice(ask.get("metric"), METRICS[kind], "cpu")
    window = _choice(ask.get("window"), performance.WINDOWS, "3600")
    how = _choice(ask.get("how"), performance.HOWS, "avg")
    n = int(_choice(ask.get("n"), [str(size) for size in performance.SIZES], "10"))
    order = _choice(ask.get("order"), ("desc", "asc"), "desc")
    q = ask.get("q", "")
    try:
        conditions = split_conditions(q)
    except ValueError as exc:   # shlex: an unclosed quote
        rows, error = [], _("The search could not be read: %(reason)s") % {"reason": exc}
    else:   # the API's answer: a bad q= in the query language's words, the store away in its own
        rows, error = performance.top(request, kind, metric, window, n, how=how, order=order,
                                      conditions=conditions)
    return render(request, "monitoring/performance.html", {
        "title": _("Performance"), "rows": rows, "error": error, "q": q,
        "kind": kind, "kinds": [(key, str(label)) for key, label in KIND_LABELS.items()],
        "metric": metric, "metrics": [(name, performance.METRIC_LABELS.get(name, name)) for name in METRICS[kind]],
        "window": window, "windows": list(performance.WINDOWS.items()),
        "how": how, "hows": list(performance.HOWS.items()),
        "n": n, "sizes": performance.SIZES, "order": order,
        "extra_label": _("State") if kind == "vm" else _("Status"),
        "search_example": "state=Running" if kind == "vm" else "status=Connected",
    })

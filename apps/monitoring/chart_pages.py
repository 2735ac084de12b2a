"""The charts on host and VM pages (a detail panel: apps.core.ui.panels) and the figures of one
period that the page's period switch asks for (``/ui/metrics/<kind>/<uuid>/?period=day``)."""
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.core.errors import CloudPortalError

from . import charts
from .live import kinds_of


def figures(kind, uuid, period):
    """``(figures, error)``: the chart figures, or the store's sentence when it cannot answer."""
    try:
        return charts.read(kind, uuid, period), ""
    except CloudPortalError as exc:
        return None, exc.message


def has_points(found):
    return bool(found) and any(found["series"].values())


def charts_panel(kind):
    def panel(request, data):
        found, error = figures(kind, data["uuid"], charts.LIVE_PERIOD)
        config = {
            "kind": kind, "uuid": data["uuid"], "period": charts.LIVE_PERIOD, "live_period": charts.LIVE_PERIOD,
            "charts": charts.described(), "figures": found,
            "url": reverse("monitoring:series", kwargs={"kind": kind, "uuid": data["uuid"]}),
        }
        return render_to_string("monitoring/_charts.html", {
            "config": config, "error": error, "no_data": not error and not has_points(found),
            "periods": [(name, charts.PERIOD_LABELS[name]) for name in charts.PERIODS],
            "charts": config["charts"], "period": charts.LIVE_PERIOD,
        }, request=request)

    return panel


@login_required
def series(request, kind, uuid):
    """One period's figures of a host or VM this user may read, as JSON (a period switch's fetch):
    404 for what it may not see, 400 for an unknown period, 503 with the store's sentence."""
    uuid = str(uuid)
    period = request.GET.get("period", charts.LIVE_PERIOD)
    if kind not in charts.KINDS or kinds_of([uuid], request.user).get(uuid) != kind:
        return JsonResponse({"code": "NOT_FOUND", "message": _("Not found: it does not exist, or your account "
                                                                "may not see it.")}, status=404)
    if period not in charts.PERIODS:
        return JsonResponse({"code": "INVALID_ARGUMENT", "message": _("Unknown period '%(period)s': one of %(periods)s")
                             % {"period": period, "periods": ", ".join(charts.PERIODS)}}, status=400)
    try:
        return JsonResponse(charts.read(kind, uuid, period))
    except CloudPortalError as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=exc.status)

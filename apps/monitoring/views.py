"""The metrics API: what can be asked, a resource's (or several resources') series, and top-N.

Tenancy is the resources': a normal account reads the metrics of the VMs it owns (another
account's VM answers 404 as everywhere) and of the infrastructure every account reads.
"""
import hmac

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import AdminOnly
from apps.core.errors import NotFound
from apps.core.query import apply_query
from apps.core.tenancy import is_admin, visible

from .metrics import METRICS, metric
from .portal_metrics import exposition
from .serializers import (CatalogueSerializer, SeriesAnswerSerializer, SeriesQuery, TopAnswerSerializer,
                          TopQuery)
from .store import get_store
from .targets import prometheus_targets


def _model(kind):
    if kind == "host":
        from apps.infra.models import Host

        return Host
    from apps.compute.models import VmInstance

    return VmInstance


def _valid(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    return data, metric(data["kind"], data["metric"])


class MetricCatalogue(APIView):
    """The metrics there are, per kind of resource, and which store answers them."""

    @extend_schema(operation_id="metrics_list", responses=CatalogueSerializer)
    def get(self, request):
        listed = [{"kind": kind, "name": m.name, "unit": m.unit, "description": m.description}
                  for kind, metrics in METRICS.items() for m in metrics.values()]
        return Response({"store": get_store().name, "metrics": listed})


class MetricSeries(APIView):
    """One metric of one or more resources over a period, a point every ``step`` seconds (each the
    average over the step ending at it). Too many points, an unknown metric, a bad period: 400."""

    @extend_schema(operation_id="metrics_series", parameters=[SeriesQuery], responses=SeriesAnswerSerializer)
    def get(self, request):
        data, found = _valid(SeriesQuery, request)
        uuids = data["uuids"]
        seen = {str(u) for u in visible(_model(data["kind"]).objects.all(), request.user)
                .filter(uuid__in=uuids).values_list("uuid", flat=True)}
        missing = [u for u in uuids if u not in seen]
        if missing:
            raise NotFound(f"no {data['kind']} {missing[0]}", details={"uuid": missing[0]})
        answer = get_store().series(data["kind"], found.name, uuids, data["start"], data["end"], data["step"])
        series = [{"uuid": u, "points": [[ts, v] for ts, v in answer[u]]} for u in uuids if u in answer]
        return Response({"kind": data["kind"], "metric": found.name, "unit": found.unit, "start": data["start"],
                         "end": data["end"], "step": data["step"], "series": series})


class MetricTop(APIView):
    """The ``n`` hosts or VMs with the highest (``order=asc``: lowest) value of a metric over the
    last ``window``, among those the query language picks (``q=``) and the caller may read."""

    @extend_schema(operation_id="metrics_top", parameters=[TopQuery], responses=TopAnswerSerializer)
    def get(self, request):
        data, found = _valid(TopQuery, request)
        model = _model(data["kind"])
        rows = apply_query(visible(model.objects.all(), request.user), data["q"], request.user)
        # an admin's unfiltered question goes to the store as it is; anyone else's names its resources
        uuids = None if is_admin(request.user) and not data["q"] else [str(u) for u in
                                                                        rows.values_list("uuid", flat=True)]
        n, asked = data["n"], data["n"]
        while True:
            ranked = get_store().top(data["kind"], found.name, data["window"], asked, uuids=uuids, how=data["how"],
                                     descending=data["order"] == "desc")
            names = {str(u): name for u, name in model.objects.filter(uuid__in=[u for u, _ in ranked])
                     .values_list("uuid", "name")}
            results = [{"uuid": u, "name": names[u], "value": v} for u, v in ranked if u in names]
            # the store still holds the series of resources deleted within the window: ask for
            # more until n that exist are found or the store has no more
            if len(results) >= n or len(ranked) < asked:
                break
            asked = 2 * asked + len(ranked) - len(results)
        results = results[:n]
        return Response({"kind": data["kind"], "metric": found.name, "unit": found.unit, "window": data["window"],
                         "how": data["how"], "results": results})


class PortalMetrics(APIView):
    """The portal's own metrics in the Prometheus text format (apps.monitoring.portal_metrics), for
    admin accounts and for a scraper presenting ``Authorization: Bearer <METRICS_BEARER_TOKEN>``."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        from django.conf import settings

        header = request.META.get("HTTP_AUTHORIZATION", "")
        bearer = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        allowed = bool(settings.METRICS_BEARER_TOKEN) and hmac.compare_digest(bearer, settings.METRICS_BEARER_TOKEN)
        if not allowed:
            if not request.user or not request.user.is_authenticated:
                raise NotAuthenticated("an admin account's token, or the metrics bearer token")
            if not is_admin(request.user):
                raise PermissionDenied("the portal's metrics are for admin accounts")
        body, content_type = exposition()
        return HttpResponse(body, content_type=content_type)


@extend_schema(tags=["monitoring"])
class PrometheusTargets(APIView):
    """Prometheus HTTP service discovery (``http_sd_configs``): the Connected hosts' agents as target
    groups, each with its metrics path and token. Admin accounts only: the tokens read metrics."""

    permission_classes = [AdminOnly]
    renderer_classes = [JSONRenderer]   # Prometheus reads JSON only, whatever it accepts

    @extend_schema(operation_id="monitoring_prometheus_targets",
                   responses={200: OpenApiResponse(description="a JSON list of target groups: "
                                                               '[{"targets": ["address:port"], "labels": {...}}]')})
    def get(self, request):
        return Response(prometheus_targets())

"""Monitoring endpoints of the API."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import AdminOnly

from .targets import prometheus_targets


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

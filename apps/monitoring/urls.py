from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import PrometheusTargets

router = SimpleRouter()
urlpatterns = [
    path("monitoring/prometheus-targets/", PrometheusTargets.as_view(), name="monitoring-prometheus-targets"),
    *router.urls,
]

"""Monitoring's console URLs (under ``/ui/``, included by apps.console.urls): the performance page
and the chart figures a host or VM page fetches for a period."""
from django.urls import path

from .chart_pages import series
from .performance_page import performance_page

app_name = "monitoring"
urlpatterns = [
    path("performance/", performance_page, name="performance"),
    path("metrics/<slug:kind>/<uuid:uuid>/", series, name="series"),
]

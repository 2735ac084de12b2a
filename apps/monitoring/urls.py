from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
urlpatterns = [
    path("metrics/", views.MetricCatalogue.as_view(), name="metrics-list"),
    path("metrics/series/", views.MetricSeries.as_view(), name="metrics-series"),
    path("metrics/top/", views.MetricTop.as_view(), name="metrics-top"),
] + router.urls

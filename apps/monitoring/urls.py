from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views
from .alarm_views import (AlarmHistoryViewSet, AlarmRuleViewSet, AlarmViewSet, DeliveryViewSet,
                          NotificationEndpointViewSet, ScheduleRunViewSet, VmScheduleViewSet)

router = SimpleRouter()
router.register("alarm-rules", AlarmRuleViewSet, basename="alarm-rules")
router.register("alarms", AlarmViewSet, basename="alarms")
router.register("alarm-history", AlarmHistoryViewSet, basename="alarm-history")
router.register("notification-endpoints", NotificationEndpointViewSet, basename="notification-endpoints")
router.register("notification-deliveries", DeliveryViewSet, basename="notification-deliveries")
router.register("vm-schedules", VmScheduleViewSet, basename="vm-schedules")
router.register("vm-schedule-runs", ScheduleRunViewSet, basename="vm-schedule-runs")
urlpatterns = [
    path("metrics/", views.MetricCatalogue.as_view(), name="metrics-list"),
    path("metrics/series/", views.MetricSeries.as_view(), name="metrics-series"),
    path("metrics/top/", views.MetricTop.as_view(), name="metrics-top"),
    path("monitoring/prometheus-targets/", views.PrometheusTargets.as_view(), name="monitoring-prometheus-targets"),
] + router.urls

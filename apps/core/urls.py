from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import views

router = SimpleRouter()
router.register("jobs", views.JobViewSet, basename="jobs")
router.register("tags", views.TagViewSet, basename="tags")
router.register("audit-logs", views.AuditLogViewSet, basename="audit-logs")
router.register("change-logs", views.ChangeLogViewSet, basename="change-logs")
router.register("global-configs", views.GlobalConfigViewSet, basename="global-configs")

_config = "global-configs/<str:category>/<str:name>/"
urlpatterns = [
    path(_config, views.GlobalConfigDetail.as_view(), name="global-config-detail"),
    path(_config + "resources/", views.ResourceConfigList.as_view(), name="resource-config-list"),
    path(_config + "resources/<str:resource_uuid>/", views.ResourceConfigDetail.as_view(),
         name="resource-config-detail"),
] + router.urls

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.accounts.login_pages import SessionLoginView
from apps.core.api.root import ApiRoot
from apps.monitoring.views import PortalMetrics
from apps.storage.imagestore import serve as image_store
from apps.storage.volume_upload import receive as image_upload

api_v1 = [
    path("", ApiRoot.as_view(), name="api-root"),
    path("", include("apps.accounts.urls")),
    path("", include("apps.infra.urls")),
    path("", include("apps.compute.urls")),
    path("", include("apps.network.urls")),
    path("", include("apps.storage.urls")),
    path("", include("apps.monitoring.urls")),
    path("", include("apps.hybrid.urls")),
    path("", include("apps.core.urls")),
]

urlpatterns = [
    path("", include("apps.console.urls")),   # the browser console: / -> /ui/
    path("api/v1/", include(api_v1)),
    path("image-store/<str:sha256>", image_store, name="image-store"),
    path("image-store/upload/<uuid:bs_uuid>/<uuid:job_uuid>", image_upload, name="image-store-upload"),
    path("", include("apps.compute.console.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # the browsable API's login page, throttled (apps.accounts.login_pages); logout stays DRF's
    path("api-auth/login/", SessionLoginView.as_view(), name="session-login"),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
    path("metrics", PortalMetrics.as_view(), name="portal-metrics"),   # for Prometheus (apps.monitoring)
]

handler404 = "apps.core.api.errors.json_404"
handler500 = "apps.core.api.errors.json_500"

"""The console's URLs: ``/ui/`` (``/`` sends a browser there), its login and logout, the
language switch, and every declared resource's pages (``apps.core.ui.urls``)."""
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.utils.module_loading import autodiscover_modules
from django.views.generic import RedirectView

from apps.core.ui import urls as ui_urls

from . import views

autodiscover_modules("ui")   # every app's ui.py declares its pages (apps.core.ui: core's own)

console = ([
    path("", views.dashboard, name="dashboard"),
    path("live/", views.dashboard_live, name="dashboard-live"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="console:login"), name="logout"),
], "console")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:dashboard"), name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("ui/", include(console)),
    path("ui/", include("apps.monitoring.console_urls")),   # before the pages' <basename>/ patterns
    path("ui/", include((ui_urls.urlpatterns(), "ui"))),
]

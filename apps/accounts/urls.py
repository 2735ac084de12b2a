from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AccountViewSet, LoginView, LogoutView, UserViewSet

router = SimpleRouter()
router.register("accounts", AccountViewSet, basename="accounts")
router.register("users", UserViewSet, basename="users")
urlpatterns = [
    path("auth/login/", LoginView.as_view(), name="login"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
] + router.urls

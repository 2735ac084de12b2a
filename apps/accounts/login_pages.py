"""The login pages (the browsable API's, the admin site's): throttled like the API's login, and
saying so (``apps.accounts.backends`` refuses the attempt)."""
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError

THROTTLED_MESSAGE = "Too many failed logins for this user name or from this address: try again in {wait} seconds."


class ThrottledMessageMixin:
    def get_invalid_login_error(self):
        wait = getattr(self.request, "login_refused_for", 0)
        if wait:
            return ValidationError(THROTTLED_MESSAGE.format(wait=wait), code="throttled")
        return super().get_invalid_login_error()


class LoginForm(ThrottledMessageMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledMessageMixin, AdminAuthenticationForm):
    pass


class SessionLoginView(LoginView):
    """``/api-auth/login/``: a refused attempt answers 429 with ``Retry-After``."""

    template_name = "rest_framework/login.html"
    authentication_form = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        wait = getattr(self.request, "login_refused_for", 0)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

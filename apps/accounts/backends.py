"""The password check every login goes through (the API's, the browsable API's and the admin
site's login pages), with failed logins throttled (``throttle``)."""
import logging
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from . import throttle

log = logging.getLogger(__name__)


class ThrottledModelBackend(ModelBackend):
    """``ModelBackend``; a login from a client (``request`` given) whose user name or address is
    throttled is refused without checking the password. ``request.login_refused_for`` then says
    for how many seconds, so that a page can answer 429 with ``Retry-After``. Calls without a
    request (management commands) are not counted."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return super().authenticate(request, username, password, **kwargs)
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        started = time.perf_counter()
        address = throttle.client_address(request)
        wait = throttle.refused_for(username, address)
        if wait:
            request.login_refused_for = wait
            record_page_login(request, started, username, 429, "THROTTLED")
            raise PermissionDenied  # authenticate() tries no other backend and answers None
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            throttle.failed(username, address)
            record_page_login(request, started, username, 401, "AUTHENTICATION_FAILED")
        else:
            throttle.succeeded(username)
            record_page_login(request, started, username, 200, "", user=user)
        return user


def record_page_login(request, started, username, status_code, error_code, user=None):
    """An audit row for a login on a page (the browsable API's or the admin site's): the audit
    middleware records ``/api/`` calls, the API login among them, but not these."""
    if request.path.startswith("/api/"):
        return
    from apps.core.middleware import client_ip
    from apps.core.models import AuditLog

    try:
        AuditLog.objects.create(
            request_id=getattr(request, "request_id", ""), user_name=(username or "")[:150],
            user_uuid=user.uuid if user else None, account_id=user.account_id if user else None,
            method=request.method, path=request.path[:1024], action="auth.login", status_code=status_code,
            result="success" if status_code < 400 else "failure", error_code=error_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 3), client_ip=client_ip(request))
    except Exception:  # the audit trail must never turn a login into a 500
        log.exception("could not write the audit log of a login on %s", request.path)

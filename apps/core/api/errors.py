"""One error shape everywhere: ``{"code", "message", "details"}`` (ARCHITECTURE §4)."""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from ..errors import CloudPortalError

log = logging.getLogger(__name__)

_DRF_CODES = [
    (drf.NotAuthenticated, "UNAUTHENTICATED"),
    (drf.AuthenticationFailed, "AUTHENTICATION_FAILED"),
    (drf.PermissionDenied, "PERMISSION_DENIED"),
    (drf.NotFound, "NOT_FOUND"),
    (drf.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (drf.ParseError, "MALFORMED_REQUEST"),
    (drf.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (drf.NotAcceptable, "NOT_ACCEPTABLE"),
    (drf.Throttled, "THROTTLED"),
]


def _summary(detail, prefix=""):
    """A one-line message from DRF's nested field errors: 'name: This field is required.'"""
    if isinstance(detail, dict):
        for key, value in detail.items():
            label = key if key != "non_field_errors" else ""
            return _summary(value, f"{prefix}{label}: " if label else prefix)
    if isinstance(detail, list) and detail:
        return _summary(detail[0], prefix)
    return f"{prefix}{detail}"


# MariaDB errors that say "not now" rather than "wrong": too many connections, server gone or
# shutting down, can't connect, lost connection, lock wait timeout, deadlock
_TRANSIENT_DB_ERRORS = {1040, 1053, 1203, 2002, 2003, 2006, 2013, 1205, 1213}


def database_unavailable(exc):
    """True when ``exc`` is the database being unreachable or busy (worth retrying), not a bug."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    code = exc.args[0] if exc.args else None
    return code in _TRANSIENT_DB_ERRORS or "database is locked" in str(exc)


def error_body(code, message, details=None):
    return {"code": code, "message": message, "details": details or {}}


def exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, CloudPortalError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("NOT_FOUND", "not found"), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("PERMISSION_DENIED", str(exc) or "permission denied"), status=403)
    if isinstance(exc, DjangoValidationError):
        return Response(error_body("INVALID_ARGUMENT", "; ".join(exc.messages)), status=400)
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(error_body("INVALID_ARGUMENT", _summary(detail), detail), status=400)
    if isinstance(exc, drf.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "ERROR")
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)
    if isinstance(exc, IntegrityError):
        return Response(error_body("CONFLICT", "the change conflicts with existing data"), status=409)
    if database_unavailable(exc):
        log.warning("database unavailable in API view: %s", exc)
        return Response(error_body("SERVICE_UNAVAILABLE", "the database is not reachable or too busy right now; "
                                   "try the request again shortly"),
                        status=503, headers={"Retry-After": "5"})
    request_id = getattr(request, "request_id", "") if request is not None else ""
    log.exception("unhandled error in API view (request %s)", request_id)
    return Response(
        error_body("INTERNAL_ERROR", "internal error; the server log has the details",
                   {"request_id": request_id}),
        status=500,
    )


def json_404(request, exception=None):
    return JsonResponse(error_body("NOT_FOUND", f"no such path: {request.path}"), status=404)


def json_500(request):
    return JsonResponse(
        error_body("INTERNAL_ERROR", "internal error; the server log has the details",
                   {"request_id": getattr(request, "request_id", "")}),
        status=500,
    )

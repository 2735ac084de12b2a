"""Request ids and the audit trail of mutating API calls."""
import ipaddress
import logging
import time

from . import context as actx
from . import prepared

log = logging.getLogger(__name__)

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def client_ip(request):
    """The client's address (the first of X-Forwarded-For when given); None when it is not an IP
    address (the audit row's column takes only those)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    value = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


class RequestIdMiddleware:
    """Gives every request an id (``X-Request-Id`` in and out) for logs, audit and jobs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")[:64]
        request.request_id = incoming if incoming.isalnum() else actx.new_request_id()
        token = actx.request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            actx.request_id.reset(token)
        response["X-Request-Id"] = request.request_id
        return response


class AuditMiddleware:
    """Records every mutating ``/api/`` call: who, what, which resource, result, duration.

    Views describe what they did through ``request.audit`` (a dict set by the
    API base classes: action, resource_type, resource_uuid, job_uuid).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in MUTATING or not request.path.startswith("/api/"):
            return self.get_response(request)
        request.audit = {}
        request.audit_started = time.perf_counter()
        response = self.get_response(request)
        if request.audit.get("written") == response.status_code:
            return response  # the view wrote it with its own transaction (write_in_transaction)
        try:
            error_code = ""
            if response.status_code >= 400:
                data = getattr(response, "data", None)
                if isinstance(data, dict):
                    error_code = str(data.get("code", ""))[:64]
            self.write(request, response.status_code, error_code)
        except Exception:  # the audit trail must never turn a success into a 500
            log.exception("could not write audit log for %s %s", request.method, request.path)
        return response

    @staticmethod
    def write(request, status_code, error_code=""):
        from .models import AuditLog

        duration_ms = (time.perf_counter() - request.audit_started) * 1000
        user = getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
        audit = getattr(request, "audit", {}) or {}
        if user is None and audit.get("user") is not None:
            user = audit["user"]  # login: the user is known only after the view ran
        prepared.insert(AuditLog(
            request_id=request.request_id,
            user_name=user.username if user else audit.get("user_name", "")[:150],
            user_uuid=user.uuid if user else None,
            account_id=user.account_id if user else None,
            method=request.method,
            path=request.path[:1024],
            action=audit.get("action", "")[:128],
            resource_type=audit.get("resource_type", ""),
            resource_uuid=audit.get("resource_uuid"),
            job_uuid=audit.get("job_uuid"),
            status_code=status_code,
            result="success" if status_code < 400 else "failure",
            error_code=error_code,
            duration_ms=round(duration_ms, 3),
            client_ip=client_ip(request),
        ))


def write_in_transaction(request, status_code):
    """Write this request's audit row now, in the caller's transaction, as the answer the view is
    about to give: a view whose change is one transaction (the VM create) commits its audit row
    with it, one autocommitted INSERT less per request. The middleware then writes no other row,
    unless the answer is another: a transaction that is undone (or fails to commit) raises, the
    error becomes the answer, and the middleware writes its row as for any failed request."""
    audit = getattr(request, "audit", None)   # a DRF request reads it from the Django request
    if audit is None:
        return  # not an audited request
    AuditMiddleware.write(request, status_code)
    audit["written"] = status_code

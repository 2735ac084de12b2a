"""Sending alarm messages: email through Django's email backend, webhooks as signed JSON.

A webhook request carries ``X-CloudPortal-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact
body bytes under the endpoint's secret, so the receiver can check who sent it. A delivery that fails
is tried again after a pause that doubles each time (``RETRY_DELAYS``), then marked failed; every
attempt is kept in the delivery's log.
"""
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import smtplib
import socket
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone

from .globalconfig import WEBHOOK_PRIVATE_ADDRESSES
from .models import Delivery, DeliveryState, EndpointType

log = logging.getLogger(__name__)

RETRY_DELAYS = (10, 30, 90, 270, 810)  # seconds before the 2nd, 3rd, ... attempt; then failed
WEBHOOK_TIMEOUT = 5
CLAIM_SECONDS = 60   # a claimed delivery is left alone this long by other deliverers
BATCH = 100


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def message(history):
    """The JSON-able message of a history row: which resource, which rule, why, the values."""
    rule = history.rule
    return {
        "event": "alarm.reminder" if history.reminder else ("alarm.notice" if not history.to_state else "alarm.state"),
        "history_uuid": str(history.uuid),
        "at": history.created_at.isoformat(),
        "rule": {"uuid": str(rule.uuid), "name": rule.name, "kind": rule.kind,
                 "metric": rule.metric or None, "event_type": rule.event_type or None},
        "alarm_uuid": str(history.alarm.uuid) if history.alarm_id else None,
        "resource": {"type": history.resource_type, "uuid": str(history.resource_uuid),
                     "name": history.resource_name},
        "from_state": history.from_state or None,
        "to_state": history.to_state or None,
        "reason": history.reason,
        "caused_by": history.caused_by,
        "value": history.value,
        "details": history.details,
    }


def subject(history):
    what = history.to_state or "notice"
    name = history.resource_name or str(history.resource_uuid)
    return f"[CloudPortal] {what}: {history.rule.name} on {history.resource_type} {name}"


def _send_email(endpoint, history):
    recipients = [a.strip() for a in endpoint.address.split(",") if a.strip()]
    body = json.dumps(message(history), indent=2, sort_keys=True)
    EmailMessage(subject(history), f"{history.reason}\n\n{body}\n", settings.DEFAULT_FROM_EMAIL,
                 recipients).send(fail_silently=False)
    return None


class Refused(Exception):
    """A delivery that is not tried again: the endpoint may not be sent to."""


def _private_allowed(endpoint):
    account = endpoint.account
    return account is None or account.is_admin or WEBHOOK_PRIVATE_ADDRESSES.value()


def _refuse_private(address):
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global:
        raise Refused(f"the endpoint's address {address} is on the portal's own networks; an admin may allow "
                      f"that (global config alarm.webhook.privateAddresses)")


def _check_address(endpoint):
    """A normal account's webhook must not reach the portal's own networks unless an admin allows it
    (``alarm.webhook.privateAddresses``): the portal would otherwise post for a tenant wherever the
    portal itself can reach (its agents, its database). Checked on the name's addresses first (a
    plain refusal), and again on the address actually connected to (``_PublicOnly``): a name may
    resolve elsewhere a moment later."""
    if _private_allowed(endpoint):
        return
    host = urllib.parse.urlsplit(endpoint.address).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return   # the request will fail to resolve it too, and say so
    for address in sorted(addresses):
        _refuse_private(address)


class _PublicPeer:
    """A connection that closes before a byte of the request is sent when it reached the portal's
    own networks."""

    def connect(self):
        super().connect()
        try:
            _refuse_private(self.sock.getpeername()[0])
        except Refused:
            self.close()
            raise


class _PublicOnlyHTTP(_PublicPeer, http.client.HTTPConnection):
    pass


class _PublicOnlyHTTPS(_PublicPeer, http.client.HTTPSConnection):
    pass


class _PublicOnlyHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    def http_open(self, req):
        return self.do_open(_PublicOnlyHTTP, req)

    def https_open(self, req):
        return self.do_open(_PublicOnlyHTTPS, req)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook is posted where it was told and nowhere else: a 3xx answer is a failed delivery
    (following it would take a tenant's post past the address check, and drop its body anyway)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _send_webhook(endpoint, delivery, history):
    _check_address(endpoint)
    body = json.dumps(message(history), sort_keys=True).encode()
    request = urllib.request.Request(endpoint.address, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "CloudPortal-Alarms",
        "X-CloudPortal-Delivery": str(delivery.uuid),
        "X-CloudPortal-Signature": sign(endpoint.secret, body),
    })
    handlers = [_NoRedirects] + ([] if _private_allowed(endpoint) else [_PublicOnlyHandler])
    with urllib.request.build_opener(*handlers).open(request, timeout=WEBHOOK_TIMEOUT) as response:
        return response.status


def _reason(exc, endpoint_type):
    """A short, plain account of a failure a person can act on (never a traceback or a repr)."""
    what = "mail server" if endpoint_type == EndpointType.EMAIL else "endpoint"
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, OSError) else exc
        if not isinstance(exc, OSError):
            return f"cannot reach the {what}: {exc.reason}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "the mail server refused the recipients: " + ", ".join(sorted(exc.recipients))
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"the mail server answered {exc.smtp_code} {text}"[:500]
    if isinstance(exc, TimeoutError):
        return f"the {what} did not answer in time"
    if isinstance(exc, OSError):
        return f"cannot reach the {what}: {exc.strerror or exc.__class__.__name__}"
    log.error("delivery to a %s failed unexpectedly", what, exc_info=exc)
    return f"the {what} could not be sent to (the server log has the details)"


def attempt(delivery):
    """Try ``delivery`` once and record the outcome (sent, retried later or failed)."""
    endpoint, history = delivery.endpoint, delivery.history
    now = timezone.now()
    entry = {"at": now.isoformat(), "ok": True}
    failure = None
    try:
        if endpoint.type == EndpointType.EMAIL:
            _send_email(endpoint, history)
        else:
            entry["status"] = _send_webhook(endpoint, delivery, history)
    except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt, retried
        failure = exc
        entry.update(ok=False, error=_reason(exc, endpoint.type))
        if isinstance(exc, urllib.error.HTTPError):
            entry["status"] = exc.code
        log.info("delivery %s to %s failed: %s", delivery.uuid, endpoint.uuid, entry["error"])
    delivery.attempts += 1
    delivery.log = (delivery.log or []) + [entry]
    if entry["ok"]:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.SENT, now, None
    elif delivery.attempts > len(RETRY_DELAYS) or isinstance(failure, Refused):
        delivery.state, delivery.next_attempt_at, delivery.last_error = DeliveryState.FAILED, None, entry["error"]
    else:
        delivery.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS[delivery.attempts - 1])
        delivery.last_error = entry["error"]
    delivery.save(update_fields=["state", "attempts", "log", "next_attempt_at", "delivered_at", "last_error"])
    return entry["ok"]


def deliver_due(now=None):
    """Send every delivery that is due; each is claimed first (a conditional UPDATE moving its next
    attempt on), so two deliverers never send one message twice. Returns how many were sent."""
    now = now or timezone.now()
    due = list(Delivery.objects.filter(state=DeliveryState.PENDING)
               .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
               .order_by("next_attempt_at", "id").values_list("pk", "next_attempt_at")[:BATCH])
    sent = 0
    claim_until = now + timedelta(seconds=CLAIM_SECONDS)
    for pk, next_at in due:
        if not Delivery.objects.filter(pk=pk, state=DeliveryState.PENDING, next_attempt_at=next_at).update(
                next_attempt_at=claim_until):
            continue
        delivery = Delivery.objects.select_related("endpoint", "endpoint__account", "history", "history__rule",
                                                   "history__alarm").get(pk=pk)
        sent += attempt(delivery)
    return sent

"""Events the host agents send to the portal (docs/agent-protocol.md, "Events").

Each request is signed with the sending host's own secret, like the portal's
requests to the agent; stale timestamps and replayed request ids are refused.
The portal records the event (audit + a live event on the host's group),
counts it as a sign of life, and hands it to the handler the other apps
registered for its type (compute: "vm.state", apps/compute/apps.py).
"""
import datetime
import json
import time

from django.core.cache import cache
from django.utils import timezone

from apps.core.errors import CloudPortalError, InvalidArgument
from apps.core.events import group_for_resource, publish

from .models import Host

MAX_SKEW_SECONDS = 300
# event type -> handler(host, event, reported_at): filled by the apps that act on events
AGENT_EVENT_HANDLERS = {}


class BadAgentSignature(CloudPortalError):
    status = 401
    code = "BAD_SIGNATURE"


def verify_request(request):
    """The Host that signed ``request``, or BadAgentSignature (401)."""
    from hostagent.signing import verify

    meta = request.META
    host_uuid = meta.get("HTTP_X_HOST_UUID", "")
    request_id = meta.get("HTTP_X_REQUEST_ID", "")
    timestamp = meta.get("HTTP_X_TIMESTAMP", "")
    signature = meta.get("HTTP_X_SIGNATURE", "")
    if not (host_uuid and request_id and timestamp and signature):
        raise BadAgentSignature("missing X-Host-Uuid, X-Request-Id, X-Timestamp or X-Signature")
    try:
        host = Host.objects.filter(uuid=host_uuid).first()
        skew = abs(time.time() - int(timestamp))
    except (ValueError, Exception):  # noqa: BLE001 - a malformed uuid or timestamp
        raise BadAgentSignature("malformed agent headers") from None
    if host is None or not host.agent_secret:
        raise BadAgentSignature("unknown host")
    if not verify(host.agent_secret, request.method, request.path, timestamp, request_id, request.body, signature):
        raise BadAgentSignature("bad signature")
    if skew > MAX_SKEW_SECONDS:
        raise CloudPortalError("stale timestamp", code="STALE_TIMESTAMP", status=401)
    if not cache.add(f"cp:agent-request:{host.uuid}:{request_id}", 1, MAX_SKEW_SECONDS * 2):
        raise CloudPortalError("this request was already received", code="REPLAYED", status=401)
    return host


def receive(request):
    host = verify_request(request)
    try:
        body = json.loads(request.body or b"{}")
        events = body["events"]
        if not isinstance(events, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument('send {"host_uuid", "events": [...]}') from None
    Host.objects.filter(pk=host.pk).update(last_ping_at=timezone.now(), ping_failures=0)
    # the request's (signed) timestamp is the agent's clock when it sent the events: it puts their
    # times on the portal's clock, rounded late (whole seconds), never early
    clock_offset = time.time() - int(request.META["HTTP_X_TIMESTAMP"])
    for event in events:
        if isinstance(event, dict):
            publish([group_for_resource(host.uuid)], {"type": "agent-event", "host_uuid": str(host.uuid), **event})
            handler = AGENT_EVENT_HANDLERS.get(event.get("type"))
            if handler is not None:
                handler(host, event, event_time(event, clock_offset))
    return host, len(events)


def event_time(event, clock_offset=0.0):
    """When an agent event happened on the portal's clock: its ``time`` (seconds since the epoch on
    the agent's clock) plus ``clock_offset`` (the portal's clock minus the agent's); else now."""
    try:
        return datetime.datetime.fromtimestamp(float(event["time"]) + clock_offset, tz=datetime.timezone.utc)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return timezone.now()

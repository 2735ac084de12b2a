"""``/ws/events/``: subscribe to a job or a resource after authenticating.

Client → server: ``{"subscribe": {"job": "<uuid>"}}`` or
``{"subscribe": {"resource": "<uuid>"}}`` (and ``"unsubscribe"`` likewise).
Server → client: ``{"type": "subscribed", ...}``, then event payloads
(``{"type": "job", ...}`` / ``{"type": "resource", ...}``), or
``{"type": "error", "code", "message"}``.
"""
import uuid as uuid_lib

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from . import group_for_job, group_for_resource


@database_sync_to_async
def _can_see(user, kind, target):
    from ..models import RESOURCE_TYPES, Job
    from ..tenancy import visible

    if kind == "job":
        return visible(Job.objects.filter(uuid=target), user).exists()
    for model in RESOURCE_TYPES.values():
        if visible(model.objects.filter(uuid=target), user).exists():
            return True
    return False


class EventConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = set()
        self.admin = await database_sync_to_async(_is_admin)(user)
        if settings.EVENTS_BACKEND == "database":
            from .relay import ensure_relay_running

            ensure_relay_running()
        await self.accept()

    async def receive_json(self, content, **kwargs):
        for verb in ("subscribe", "unsubscribe"):
            if verb in content:
                return await self._subscription(verb, content[verb])
        await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                              "message": "send {\"subscribe\": {\"job\"|\"resource\": \"<uuid>\"}}"})

    async def _subscription(self, verb, spec):
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("job", "resource"):
            return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                         "message": "subscribe to exactly one of job or resource"})
        kind, target = next(iter(spec.items()))
        try:
            target = str(uuid_lib.UUID(str(target)))
        except ValueError:
            return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                         "message": f"'{target}' is not a uuid"})
        if not await _can_see(self.scope["user"], kind, target):
            return await self.send_json({"type": "error", "code": "NOT_FOUND",
                                         "message": f"{kind} {target} not found"})
        group = group_for_job(target) if kind == "job" else group_for_resource(target)
        if verb == "subscribe":
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)
        else:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)
        await self.send_json({"type": verb + "d", kind: target})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def event_message(self, event):
        payload = event["payload"]
        await self.send_json(payload if self.admin else for_normal_accounts(payload))


def _is_admin(user):
    from ..tenancy import is_admin

    return is_admin(user)


def for_normal_accounts(payload):
    """What a normal account may see of an event on a resource it can read. A change shows only
    the fields it may query, admin-only ones left out (a host's address, a storage's path: see
    ``apps.core.query.admin_only``); a job on infrastructure (an admin's: adding or reconnecting
    a host) shows its progress but not its steps, result or error, which name such things."""
    from ..models import RESOURCE_TYPES
    from ..query import admin_only

    model = RESOURCE_TYPES.get(payload.get("resource_type"))
    if payload.get("type") == "resource":
        shown = set(getattr(getattr(model, "Query", None), "fields", ())) - admin_only(model)
        changes = payload.get("changes") or {}
        return {**payload, "changes": {side: {k: v for k, v in (changes.get(side) or {}).items() if k in shown}
                                       for side in ("before", "after")}}
    if payload.get("type") == "job" and model is not None and getattr(model, "tenant_path", None) is None:
        return {k: v for k, v in payload.items() if k not in ("steps", "result", "error")}
    return payload

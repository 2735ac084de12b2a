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
        await self.send_json(event["payload"])

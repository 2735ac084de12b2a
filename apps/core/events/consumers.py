"""``/ws/events/``: subscribe to jobs and resources after authenticating.

Client → server: ``{"subscribe": {"job": "<uuid>"}}``, ``{"subscribe": {"resource": "<uuid>"}}``,
a list of uuids in one message (``{"subscribe": {"resource": ["<uuid>", ...]}}``: a page's rows),
or ``{"subscribe": {"account_jobs": "<account uuid>"}}`` (every job of that account: one's own, or
any for an admin), or ``{"subscribe": {"new_rows": "<type>"}}`` (the rows a followable type adds,
``followable.py``: every one to an admin, the account's own to anyone else); ``"unsubscribe"``
likewise. ``resource`` takes the rows of the followable types too (an alarm). Apps above core add
kinds of their own (``streams.py``: ``{"subscribe": {"metrics": ["<uuid>", ...]}}``, new points of hosts and VMs).
A subscribe may carry ``"since": "<ISO date-time>"`` (when the page showing those objects was
rendered): its answer then also names, in ``"changed"``, the ones a job changed since or is
changing now (``{"changed": {"resource": [...]}}``), whose events went out before the
subscription and must be fetched again.
Server → client: ``{"type": "subscribed", ...}`` (naming what it took), then event payloads
(``{"type": "job", ...}`` / ``{"type": "resource", ...}``), or ``{"type": "error", "code",
"message"}`` (``NOT_FOUND`` lists in ``details`` the uuids of a list it did not take).
"""
import asyncio
import logging
import uuid as uuid_lib
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from ..errors import CloudPortalError
from . import group_for_account_jobs, group_for_job, group_for_new_rows, group_for_resource
from .followable import FOLLOWABLE
from .streams import STREAMS

log = logging.getLogger(__name__)
KINDS = ("job", "resource", "account_jobs", "new_rows")
MAX_UUIDS = 500   # in one message: a page's rows
# ``since`` is the web server's clock and ``finished_at`` a worker's: a second of slack between them
CLOCK_SLACK = timedelta(seconds=1)
FIRST_INTERVAL = 10   # seconds between a stream's reads until the stream says (when it cannot)


@database_sync_to_async
def _groups(user, kind, targets):
    """``({target: group}, {Followable: [target, ...]})``: the ``targets`` (uuid strings) ``user``
    may follow, and which of them are rows of a followable type (not a Resource): one query per
    resource type at most, whatever their number."""
    from ..models import RESOURCE_TYPES, Job
    from ..tenancy import is_admin, visible

    wanted = set(targets)
    if kind == "job":
        found = visible(Job.objects.filter(uuid__in=wanted), user).values_list("uuid", flat=True)
        return {str(u): group_for_job(u) for u in found}, {}
    if kind == "account_jobs":
        account_model = Job._meta.get_field("account").related_model
        rows = account_model.objects.filter(uuid__in=wanted)
        if not is_admin(user):
            rows = rows.filter(pk=user.account_id)
        return {str(u): group_for_account_jobs(pk) for pk, u in rows.values_list("pk", "uuid")}, {}
    groups, followed = {}, {}
    kinds = [(model, visible, None) for model in RESOURCE_TYPES.values()]
    kinds += [(one.model, one.visible, one) for one in FOLLOWABLE.values()]
    for model, visible_to, followable in kinds:
        if not wanted:
            break
        for u in visible_to(model.objects.filter(uuid__in=wanted), user).values_list("uuid", flat=True):
            groups[str(u)] = group_for_resource(u)
            wanted.discard(str(u))
            if followable is not None:
                followed.setdefault(followable, []).append(str(u))
    return groups, followed


@database_sync_to_async
def _changed_since(kind, targets, since, followed=None):
    """Of ``targets`` (jobs, or resources), the ones a job has changed since ``since`` or is
    changing now: one query on the jobs, by uuid or by the resource index; and of the rows of
    followable types (``followed``: ``{Followable: [uuid, ...]}``), the ones saved since."""
    from ..models import FINISHED_STATES, Job

    moving = ~Q(state__in=FINISHED_STATES) | Q(finished_at__gte=since - CLOCK_SLACK)
    if kind == "job":
        found = Job.objects.filter(moving, uuid__in=targets).values_list("uuid", flat=True)
    else:
        found = Job.objects.filter(moving, resource_uuid__in=targets).values_list("resource_uuid", flat=True)
    found = {str(u) for u in found}
    for followable, uuids in (followed or {}).items():
        found.update(followable.changed_since(uuids, since - CLOCK_SLACK))
    return sorted(found)


class EventConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = set()
        self.streams = {}   # stream kind -> {"cursors": {uuid: cursor}, "task": the task reading it}
        self.admin = await database_sync_to_async(_is_admin)(user)
        if settings.EVENTS_BACKEND == "database":
            from .relay import ensure_relay_running

            await ensure_relay_running()
        await self.accept()

    async def receive_json(self, content, **kwargs):
        for verb in ("subscribe", "unsubscribe"):
            if verb in content:
                return await self._subscription(verb, content[verb], content.get("since"))
        await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                              "message": "send {\"subscribe\": {\"job\"|\"resource\"|\"account_jobs\": \"<uuid>\"}}"})

    async def _subscription(self, verb, spec, since=None):
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in (*KINDS, *STREAMS):
            kinds = ", ".join((*KINDS, *STREAMS))
            return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                         "message": f"subscribe to exactly one of {kinds}"})
        kind, target = next(iter(spec.items()))
        if kind == "new_rows":
            return await self._new_rows_subscription(verb, target, since)
        many = isinstance(target, list) and kind != "account_jobs"
        targets = target if many else [target]
        if len(targets) > MAX_UUIDS:
            return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                         "message": f"at most {MAX_UUIDS} uuids in one message"})
        try:
            targets = [str(uuid_lib.UUID(str(one))) for one in targets]
        except ValueError:
            bad = next(one for one in targets if not _is_uuid(one))
            return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                         "message": f"'{bad}' is not a uuid"})
        if since is not None:
            since = _parse_since(since)
            if since is None:
                return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                             "message": "'since' must be an ISO 8601 date and time with its offset"})
        if kind in STREAMS:
            return await self._stream_subscription(verb, kind, targets, many)
        if verb == "unsubscribe" and kind != "account_jobs":   # leaving a group needs no right (nor the row)
            group_of = group_for_job if kind == "job" else group_for_resource
            groups, followed = {one: group_of(one) for one in targets}, {}
        else:
            groups, followed = await _groups(self.scope["user"], kind, targets)
        missing = [one for one in targets if one not in groups]
        if missing and not many:
            return await self.send_json({"type": "error", "code": "NOT_FOUND",
                                         "message": f"{kind} {missing[0]} not found"})
        for group in groups.values():
            await self._join(verb, group)
        taken = [one for one in targets if one in groups]
        answer = {"type": verb + "d", kind: taken if many else taken[0]}
        if since is not None and verb == "subscribe" and kind != "account_jobs" and taken:
            answer["changed"] = {kind: await _changed_since(kind, taken, since, followed)}
        await self.send_json(answer)
        if missing:
            await self.send_json({"type": "error", "code": "NOT_FOUND", "message": f"{len(missing)} not found",
                                  "details": {kind: missing}})

    async def _join(self, verb, group):
        """Join (``subscribe``) or leave a Channels group, keeping ``groups_joined`` in step."""
        if verb == "subscribe":
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)
        else:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)

    async def _new_rows_subscription(self, verb, resource_type, since=None):
        """The rows a followable type adds (``followable.py``, ``new_rows``): every one for an
        admin, the account's own for anyone else. With ``since``, the answer says whether any the
        user may see was made since (``"changed": {"new_rows": [type]}``): fetch the list again."""
        followable = FOLLOWABLE.get(resource_type) if isinstance(resource_type, str) else None
        if followable is None or not followable.new_rows:
            types = ", ".join(sorted(name for name, one in FOLLOWABLE.items() if one.new_rows))
            return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                         "message": f"new_rows takes one of: {types}"})
        user = self.scope["user"]
        when = _parse_since(since) if since is not None and verb == "subscribe" else None
        if since is not None and verb == "subscribe" and when is None:   # refused before joining anything
            return await self.send_json({"type": "error", "code": "INVALID_ARGUMENT",
                                         "message": "'since' must be an ISO 8601 date and time with its offset"})
        group = group_for_new_rows(resource_type, None if self.admin else user.account_id)
        await self._join(verb, group)
        answer = {"type": verb + "d", "new_rows": resource_type}
        if when is not None:
            made = await database_sync_to_async(followable.made_since)(user, when - CLOCK_SLACK)
            answer["changed"] = {"new_rows": [resource_type] if made else []}
        await self.send_json(answer)

    async def _stream_subscription(self, verb, kind, targets, many):
        """A kind an app added (``streams.py``): the uuids followed on this connection, read by a
        task of the connection's own while there are any."""
        stream = STREAMS[kind]
        followed = self.streams.setdefault(kind, {"cursors": {}, "task": None})
        if verb == "unsubscribe":
            for one in targets:
                followed["cursors"].pop(one, None)
            taken, missing = targets, []
        else:
            allowed = set(await database_sync_to_async(stream.allowed)(self.scope["user"], targets))
            taken = [one for one in targets if one in allowed]
            missing = [one for one in targets if one not in allowed]
            if missing and not many:
                return await self.send_json({"type": "error", "code": "NOT_FOUND",
                                             "message": f"{kind} {missing[0]} not found"})
            new = [one for one in taken if one not in followed["cursors"]]
            if new:
                followed["cursors"].update(await database_sync_to_async(stream.start)(new))
            if followed["cursors"] and followed["task"] is None:
                followed["task"] = asyncio.create_task(self._read_stream(kind))
        await self.send_json({"type": verb + "d", kind: taken if many else taken[0]})
        if missing:
            await self.send_json({"type": "error", "code": "NOT_FOUND", "message": f"{len(missing)} not found",
                                  "details": {kind: missing}})

    async def _read_stream(self, kind):
        """Every ``interval()`` seconds, what is new for the uuids this connection follows; ends
        when it follows none. A failed read is logged and tried again at the next interval (what it
        did not send is read again then): the connection stays."""
        stream, followed = STREAMS[kind], self.streams[kind]
        seconds = FIRST_INTERVAL
        try:
            while followed["cursors"]:
                try:
                    seconds = await database_sync_to_async(stream.interval)()
                except Exception:
                    log.exception("could not read the %s stream's interval; %s s kept", kind, seconds)
                await asyncio.sleep(seconds)
                try:
                    messages, cursors = await database_sync_to_async(stream.read)(dict(followed["cursors"]))
                except CloudPortalError as exc:   # a server it reads is away: a sentence, not a traceback
                    log.warning("could not read the %s stream: %s", kind, exc.message)
                    continue
                except Exception:
                    log.exception("could not read the %s stream", kind)
                    continue
                for one, cursor in cursors.items():   # unless unsubscribed meanwhile
                    if one in followed["cursors"]:
                        followed["cursors"][one] = cursor
                for message in messages:
                    await self.send_json(message)
        finally:
            followed["task"] = None

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        for followed in getattr(self, "streams", {}).values():
            if followed["task"] is not None:
                followed["task"].cancel()

    async def event_message(self, event):
        payload = event["payload"]
        await self.send_json(payload if self.admin else for_normal_accounts(payload))


def _parse_since(value):
    try:
        when = parse_datetime(str(value))
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def _is_uuid(value):
    try:
        uuid_lib.UUID(str(value))
        return True
    except ValueError:
        return False


def _is_admin(user):
    from ..tenancy import is_admin

    return is_admin(user)


def for_normal_accounts(payload):
    """What a normal account may see of an event on a resource it can read. A change shows only
    the fields it may query, admin-only ones left out (a host's address, a storage's path: see
    ``apps.core.query.admin_only``); a job on infrastructure (an admin's: adding or reconnecting
    a host) shows its progress but not its steps, result or error, which name such things."""
    from ..query import admin_only
    from .followable import followed_model

    model = followed_model(payload.get("resource_type"))
    if payload.get("type") == "resource":
        shown = set(getattr(getattr(model, "Query", None), "fields", ())) - admin_only(model)
        changes = payload.get("changes") or {}
        return {**payload, "changes": {side: {k: v for k, v in (changes.get(side) or {}).items() if k in shown}
                                       for side in ("before", "after")}}
    if payload.get("type") == "job" and model is not None and getattr(model, "tenant_path", None) is None:
        return {k: v for k, v in payload.items() if k not in ("steps", "result", "error")}
    return payload

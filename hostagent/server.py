"""The agent's HTTP server (aiohttp): authentication, replay refusal, idempotency, dispatch."""
import asyncio
import concurrent.futures
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from collections import OrderedDict

from aiohttp import web

from . import __version__
from .backends.base import validate_define, require_vm_uuid, VM_OPS
from .backends.network_base import NETWORK_PATHS, NETWORK_READ_PATHS
from .backends.storage_base import STORAGE_ROUTES
from .backends import routes as feature_routes
from .errors import AgentFailure, invalid_request
from .events import EventReporter
from .exposition import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .sampling import DEFAULT_INTERVAL, Sampler
from .signing import HEADER_HOST, HEADER_REQUEST_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, metrics_token, verify

log = logging.getLogger("hostagent.server")

MAX_SKEW = 300          # seconds between X-Timestamp and the agent's clock
ANSWER_TTL = 660        # answers (and seen timestamps) are kept this long: > 2 * MAX_SKEW
READ_PATHS = {"/v1/host/ping", "/v1/host/facts", "/v1/host/capacity", "/v1/vm/states", "/v1/vm/vnc-port",
              "/v1/storage/capacity", "/v1/volume/info", *NETWORK_READ_PATHS, *feature_routes.read_paths()}


def _json_bytes(payload):
    return json.dumps(payload, separators=(",", ":")).encode()


def _response(status, body_bytes):
    return web.Response(status=status, body=body_bytes, content_type="application/json")


def _error(failure):
    return _response(failure.status, _json_bytes(failure.payload()))


class _Entry:
    __slots__ = ("expires", "body_key", "timestamps", "task", "status", "body")

    def __init__(self, expires, body_key):
        self.expires = expires
        self.body_key = body_key
        self.timestamps = []
        self.task = None
        self.status = None   # set once answered with a status < 500 (5xx answers are not kept: retry runs again)
        self.body = None


class RequestCache:
    """Answers by (host uuid, request id): kept ANSWER_TTL seconds, at most ``max_entries`` (oldest go first)."""

    def __init__(self, ttl=ANSWER_TTL, max_entries=250_000):
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries = OrderedDict()

    def get(self, key):
        return self.entries.get(key)

    def add(self, key, body_key, now):
        self._prune(now)
        entry = self.entries[key] = _Entry(now + self.ttl, body_key)
        return entry

    def _prune(self, now):
        entries = self.entries
        while entries:
            key, entry = next(iter(entries.items()))
            if entry.expires < now or len(entries) >= self.max_entries:
                if entry.task is not None and not entry.task.done():
                    break  # never forget a running request
                entries.popitem(last=False)
            else:
                break

    def __len__(self):
        return len(self.entries)


class AgentServer:
    def __init__(self, backend, config):
        self.backend = backend
        self.config = config
        self.cache = RequestCache(max_entries=int(config.get("idempotency_max_entries") or 250_000))
        # Blocking backend calls run in threads, never on the event loop: operations in one pool of
        # ``workers`` (more wait in its queue, in order), reads in a small pool of their own, so a
        # burst of defines or slow stops never delays the state sync or a console's VNC port lookup
        # (a ping needs no thread at all).
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=int(config.get("workers") or 16), thread_name_prefix="hostagent-op")
        self.read_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=int(config.get("read_workers") or 4), thread_name_prefix="hostagent-read")
        self.events = EventReporter(self._event_target)
        backend.events = self.events
        self.admin_token = config.get("admin_token") or None
        self.sampler = Sampler(backend, config.get("sample_interval") or DEFAULT_INTERVAL)
        self.app = web.Application(client_max_size=1 << 20)
        self.app.router.add_route("*", "/v1/{tail:.*}", self.handle_v1)
        self.app.router.add_get("/metrics/{host_uuid}", self.handle_metrics)
        if backend.name == "sim":
            from .sim_admin import add_admin_routes
            add_admin_routes(self.app, self)
        self.app.on_startup.append(self._on_startup)
        self.app.on_cleanup.append(self._on_cleanup)
        self.routes = {
            "/v1/host/connect": self.op_connect,
            "/v1/host/ping": self.op_ping,
            "/v1/host/facts": self.op_facts,
            "/v1/host/capacity": self.op_capacity,
            "/v1/vm/define": self.op_define,
            "/v1/vm/states": self.op_states,
        }
        for op in VM_OPS:
            path = f"/v1/vm/{op}"
            self.routes[path] = self._vm_op_handler(op, read=path in READ_PATHS)
        for path, (method, validator) in NETWORK_PATHS.items():  # bridges and DHCP (backends/network_*.py)
            self.routes[path] = self._spec_handler(method, validator, read=path in READ_PATHS)
        for path, (validate, method) in STORAGE_ROUTES.items():   # storage: backends/storage_*.py
            self.routes[path] = self._spec_handler(method, validate, read=path in READ_PATHS)
        for path, entry in feature_routes.ROUTES.items():   # backends/routes.py: one module per feature
            self.routes[path] = self._feature_handler(entry)
        for method, path, make in feature_routes.HTTP_ROUTES:   # e.g. GET /files/ (migration_ops)
            self.app.router.add_route(method, path, make(self))

    # --- lifecycle ---------------------------------------------------------------
    async def _on_startup(self, app):
        loop = asyncio.get_running_loop()
        self.events.start(loop)
        await loop.run_in_executor(self.executor, self.backend.start, loop)
        self.sampler.start(loop)

    async def _on_cleanup(self, app):
        await self.sampler.close()
        await self.events.close()
        self.backend.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.read_executor.shutdown(wait=False, cancel_futures=True)

    def _event_target(self, host_uuid):
        secret = self.backend.secret_for(host_uuid)
        url = self.backend.portal_url(host_uuid)
        return (url, secret) if secret and url else None

    def check_admin(self, request):
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if not self.admin_token or not hmac.compare_digest(token.encode(), self.admin_token.encode()):
            raise AgentFailure(401, "BAD_ADMIN_TOKEN", "the admin API needs Authorization: Bearer <admin token>")

    # --- /metrics/<host_uuid> ----------------------------------------------------------
    async def handle_metrics(self, request):
        """The host's latest sample for Prometheus. The credential is derived from the host's
        secret (``signing.metrics_token``), as a bearer token or, since Prometheus cannot set a
        header per target, the ``token`` query parameter."""
        host_uuid = request.match_info["host_uuid"]
        header = request.headers.get("Authorization", "")
        presented = header[7:] if header.startswith("Bearer ") else request.query.get("token", "")
        secret = self.backend.secret_for(host_uuid)
        expected = metrics_token(secret, host_uuid) if secret else None
        if expected is None or not hmac.compare_digest(presented.encode(), expected.encode()):
            failure = AgentFailure(401, "BAD_METRICS_TOKEN", "/metrics/<host_uuid> needs that host's metrics token "
                                   "(Authorization: Bearer <token> or ?token=<token>)")
            response = _error(failure)
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        body = self.sampler.exposition(host_uuid)
        if body is None:
            failure = AgentFailure(503, "NO_SAMPLE_YET", "no sample of this host yet; retry after the next sample",
                                   {"sample_interval": self.sampler.interval})
            response = _error(failure)
            response.headers["Retry-After"] = str(int(self.sampler.interval))
            return response
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    def apply_settings(self, body):
        """Settings the portal sends with connect and ping (``sample_interval``)."""
        if "sample_interval" in body:
            try:
                self.sampler.set_interval(body["sample_interval"])
            except ValueError as exc:
                raise invalid_request(str(exc), field="sample_interval") from None

    async def run_backend(self, fn, *args, read=False):
        if self.backend.blocking:
            executor = self.read_executor if read else self.executor
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        return fn(*args)

    # --- /v1/ --------------------------------------------------------------------
    async def handle_v1(self, request):
        arrived = time.time()
        path = request.path
        if request.method != "POST":
            return _error(AgentFailure(405, "METHOD_NOT_ALLOWED", "every /v1/ request is a POST"))
        raw = await request.read()
        headers = request.headers
        host_uuid = headers.get(HEADER_HOST, "")
        request_id = headers.get(HEADER_REQUEST_ID, "")
        timestamp = headers.get(HEADER_TIMESTAMP, "")
        signature = headers.get(HEADER_SIGNATURE, "")
        try:
            await self.backend.before_request(host_uuid, path)
            ts = self._authenticate(host_uuid, request_id, timestamp, signature, path, raw, arrived)
        except AgentFailure as failure:
            return _error(failure)

        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("not an object")
            body_text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        except ValueError:
            body = None
            body_text = "raw:" + hashlib.sha256(raw).hexdigest()
        body_key = hashlib.sha256(f"{path}\n{body_text}".encode()).digest()

        key = f"{host_uuid}\0{request_id}"
        entry = self.cache.get(key)
        if entry is not None:
            if ts in entry.timestamps:
                return _error(AgentFailure(401, "REPLAYED", "this exact request was already received",
                                           {"request_id": request_id}))
            entry.timestamps.append(ts)
            if entry.body_key != body_key:
                return _error(AgentFailure(409, "REQUEST_ID_REUSED",
                                           "this request id was already used for another request",
                                           {"request_id": request_id}))
            if entry.task is not None and not entry.task.done():
                await asyncio.shield(entry.task)
            if entry.status is not None:
                log.debug("%s %s: stored answer for request %s", host_uuid, path, request_id)
                return _response(entry.status, entry.body)
        else:
            entry = self.cache.add(key, body_key, arrived)
            entry.timestamps.append(ts)

        entry.task = asyncio.ensure_future(self._execute(entry, host_uuid, path, body, request_id))
        status, payload = await asyncio.shield(entry.task)
        return _response(status, payload)

    def _authenticate(self, host_uuid, request_id, timestamp, signature, path, raw, now):
        if not (host_uuid and request_id and timestamp and signature):
            raise AgentFailure(401, "BAD_SIGNATURE", "missing X-Host-Uuid, X-Request-Id, X-Timestamp or X-Signature")
        if len(request_id) > 200:
            raise AgentFailure(401, "BAD_SIGNATURE", "X-Request-Id is longer than 200 characters")
        try:
            ts = int(timestamp)
        except ValueError:
            raise AgentFailure(401, "BAD_SIGNATURE", "X-Timestamp must be integer unix seconds") from None
        secret = self.backend.secret_for(host_uuid)
        if secret is None:
            raise AgentFailure(401, "UNKNOWN_HOST", "this agent does not serve that host", {"host_uuid": host_uuid})
        if not verify(secret, "POST", path, timestamp, request_id, raw, signature):
            raise AgentFailure(401, "BAD_SIGNATURE", "the signature does not match")
        if abs(now - ts) > MAX_SKEW:
            raise AgentFailure(401, "STALE_TIMESTAMP", f"X-Timestamp is more than {MAX_SKEW}s away from the agent's clock",
                               {"agent_time": int(now), "timestamp": ts})
        return ts

    async def _execute(self, entry, host_uuid, path, body, request_id):
        started = time.monotonic()
        try:
            if body is None:
                raise invalid_request("the body must be a JSON object")
            handler = self.routes.get(path)
            if handler is None:
                raise AgentFailure(404, "NOT_FOUND", f"no such path {path}")
            status, payload = 200, await handler(host_uuid, body)
        except AgentFailure as failure:
            status, payload = failure.status, failure.payload()
        except Exception as exc:  # noqa: BLE001 - answered as 500, logged with its traceback
            log.exception("%s %s failed", host_uuid, path)
            status, payload = 500, {"code": "INTERNAL_ERROR", "details": {},
                                    "message": f"{path} failed on an unexpected error; the agent's log has the details"}
        data = _json_bytes(payload)
        if status < 500:
            entry.status, entry.body = status, data
        level = logging.DEBUG if path in READ_PATHS and status < 400 else logging.INFO
        log.log(level, "%s %s request=%s -> %d %s (%.0f ms)", host_uuid, path, request_id, status,
                payload.get("code", "") if status >= 400 else "", (time.monotonic() - started) * 1000)
        return status, data

    # --- operations ----------------------------------------------------------------
    async def op_connect(self, host_uuid, body):
        portal_url = body.get("portal_url")
        if portal_url is not None:
            parsed = urllib.parse.urlsplit(portal_url) if isinstance(portal_url, str) else None
            if not parsed or parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise invalid_request("portal_url must be an http(s) URL or null", field="portal_url")
        self.apply_settings(body)
        self.backend.set_portal_url(host_uuid, portal_url)
        facts = await self.run_backend(self.backend.facts, host_uuid, read=True)
        capacity = await self.run_backend(self.backend.capacity, host_uuid, read=True)
        return {"host_uuid": host_uuid, "agent_version": __version__, "facts": facts, "capacity": capacity,
                "sample_interval": self.sampler.interval}

    async def op_ping(self, host_uuid, body):
        self.apply_settings(body)
        return {"host_uuid": host_uuid, "agent_version": __version__, "time": time.time(),
                "sample_interval": self.sampler.interval}

    async def op_facts(self, host_uuid, body):
        return await self.run_backend(self.backend.facts, host_uuid, read=True)

    async def op_capacity(self, host_uuid, body):
        return await self.run_backend(self.backend.capacity, host_uuid, read=True)

    async def op_states(self, host_uuid, body):
        return await self.run_backend(self.backend.vm_states, host_uuid, read=True)

    async def op_define(self, host_uuid, body):
        """Define the domain; with ``"start": true`` also start it, as ``/v1/vm/start`` would (one
        round trip for a new VM). A failed start leaves the domain defined and answers the error."""
        spec = validate_define(body)
        answer = await self.run_backend(self.backend.vm_define, host_uuid, spec)
        if spec["start"]:
            answer = await self.run_backend(self.backend.vm_op, host_uuid, "start", spec["vm_uuid"], body)
        return answer

    def _spec_handler(self, method, validator, read=False):
        async def handler(host_uuid, body):
            return await self.run_backend(getattr(self.backend, method), host_uuid, validator(body), read=read)
        return handler

    def _feature_handler(self, entry):
        impl = entry.impls.get(self.backend.name)

        async def handler(host_uuid, body):
            if impl is None:
                raise AgentFailure(501, "NOT_SUPPORTED", f"the {self.backend.name} backend does not do this")
            spec = entry.validate(body)
            return await self.run_backend(impl, self.backend, host_uuid, spec, read=entry.read)
        return handler

    def _vm_op_handler(self, op, read=False):
        async def handler(host_uuid, body):
            vm_uuid = require_vm_uuid(body)
            return await self.run_backend(self.backend.vm_op, host_uuid, op, vm_uuid, body, read=read)
        return handler


async def serve(backend, config):
    server = AgentServer(backend, config)
    runner = web.AppRunner(server.app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, config["listen"], int(config["port"]), backlog=1024, reuse_address=True)
    await site.start()
    log.info("hostagent %s (%s backend) listening on %s:%s", __version__, backend.name,
             config["listen"], config["port"])
    return runner

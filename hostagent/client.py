"""A small signing client for the host agent protocol (stdlib only; the portal reuses it).

    client = AgentClient("http://10.0.0.5:7070", host_uuid, secret, timeout=10)
    client.call("/v1/host/ping")                       # -> {"host_uuid", "agent_version", "time"}
    client.call("/v1/vm/start", {"vm_uuid": u}, request_id=job_step_id)

Errors raise ``AgentError(status, code, message, details)``; ``status`` is 0 when no HTTP answer
came back (connection refused, timeout, reset), with code ``UNREACHABLE`` or ``TIMEOUT``.

Connections are kept alive and reused by the next call from the same thread to the same agent
(at most ``KEEP_ALIVE_PER_THREAD`` per thread, the least recently used closed first): a VM create
makes several calls to one agent, and a new TCP (or TLS) connection for each cost both sides more
than the call. A kept connection the agent has closed meanwhile is replaced and the call sent
again, re-signed with the same request id (the agent never runs one request id twice).
"""
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict

from .signing import encode_body, new_request_id, signed_headers


KEEP_ALIVE_PER_THREAD = 8
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
_kept = threading.local()


def _kept_connections():
    pool = getattr(_kept, "pool", None)
    if pool is None:
        pool = _kept.pool = OrderedDict()
    return pool


def _keep(key, conn):
    pool = _kept_connections()
    old = pool.pop(key, None)
    if old is not None and old is not conn:
        old.close()
    pool[key] = conn
    while len(pool) > KEEP_ALIVE_PER_THREAD:
        pool.popitem(last=False)[1].close()


def close_kept_connections():
    """Close this thread's kept connections (tests, a process about to fork)."""
    pool = _kept_connections()
    while pool:
        pool.popitem()[1].close()


class AgentError(Exception):
    def __init__(self, status, code, message, details=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def __repr__(self):
        return f"AgentError({self.status!r}, {self.code!r}, {self.message!r}, {self.details!r})"


class AgentClient:
    def __init__(self, base_url, host_uuid, secret, timeout=10.0, retries=0, retry_backoff=1.0):
        """``retries``: extra attempts after a transport failure or a 5xx, re-signed with a fresh
        timestamp and the same request id (so the agent never runs an operation twice)."""
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"bad agent url {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._prefix = parsed.path.rstrip("/")
        self.host_uuid = str(host_uuid)
        self.secret = secret
        self.timeout = timeout
        self.retries = retries
        self.retry_backoff = max(1.0, retry_backoff)  # a re-sign needs a new second (see replay rules)

    def call(self, path, body=None, request_id=None):
        request_id = request_id or new_request_id()
        data = encode_body(body)
        attempt = 0
        while True:
            try:
                return self._once(path, data, request_id)
            except AgentError as exc:
                retriable = exc.status == 0 or exc.status >= 500
                if not retriable or attempt >= self.retries:
                    raise
                attempt += 1
                time.sleep(self.retry_backoff * (2 ** (attempt - 1)))

    def _once(self, path, data, request_id):
        full_path = self._prefix + path
        key = (self._scheme, self._host, self._port)
        conn = _kept_connections().pop(key, None)
        while True:
            reused = conn is not None
            if conn is None:
                cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
                conn = cls(self._host, self._port, timeout=self.timeout)
            elif conn.sock is not None:
                conn.sock.settimeout(self.timeout)
            headers = signed_headers(self.host_uuid, self.secret, "POST", full_path, data, request_id)
            try:
                conn.request("POST", full_path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = response.status
            except _STALE as exc:
                conn.close()
                if reused:  # the agent closed the kept connection: once more on a new one
                    conn = None
                    continue
                raise AgentError(0, "UNREACHABLE", f"{self.base_url}{path}: {exc}") from exc
            except (socket.timeout, TimeoutError) as exc:
                conn.close()
                raise AgentError(0, "TIMEOUT", f"no answer from {self.base_url}{path} within {self.timeout}s") from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise AgentError(0, "UNREACHABLE", f"{self.base_url}{path}: {exc}") from exc
            if response.will_close:
                conn.close()
            else:
                _keep(key, conn)
            break
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = None
        if 200 <= status < 300:
            if not isinstance(payload, dict):
                raise AgentError(status, "BAD_RESPONSE", f"{path}: the agent answered non-JSON")
            return payload
        if isinstance(payload, dict):
            raise AgentError(status, payload.get("code") or "AGENT_ERROR",
                             payload.get("message") or f"HTTP {status}", payload.get("details") or {})
        raise AgentError(status, "AGENT_ERROR", f"HTTP {status}: {raw[:200]!r}")

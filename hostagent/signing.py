"""Request signing shared by the agent, its client and its event reporter (stdlib only).

signature = hex(HMAC-SHA256(secret, "\\n".join([METHOD, PATH, TIMESTAMP, REQUEST_ID, sha256_hex(body)])))
"""
import hashlib
import hmac
import json
import time
import uuid

HEADER_HOST = "X-Host-Uuid"
HEADER_REQUEST_ID = "X-Request-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_SIGNATURE = "X-Signature"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(method: str, path: str, timestamp, request_id: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, str(timestamp), request_id, body_hash(body)])


def sign(secret: str, method: str, path: str, timestamp, request_id: str, body: bytes) -> str:
    message = string_to_sign(method, path, timestamp, request_id, body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify(secret: str, method: str, path: str, timestamp, request_id: str, body: bytes, signature: str) -> bool:
    expected = sign(secret, method, path, timestamp, request_id, body)
    return hmac.compare_digest(expected, (signature or "").lower())


def encode_body(body) -> bytes:
    """The canonical JSON encoding the client sends (any encoding verifies; this one is compact)."""
    return json.dumps({} if body is None else body, separators=(",", ":"), sort_keys=True).encode()


def new_request_id() -> str:
    return uuid.uuid4().hex


def signed_headers(host_uuid: str, secret: str, method: str, path: str, body: bytes,
                   request_id: str = None, timestamp: int = None) -> dict:
    request_id = request_id or new_request_id()
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "Content-Type": "application/json",
        HEADER_HOST: host_uuid,
        HEADER_REQUEST_ID: request_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign(secret, method, path, timestamp, request_id, body),
    }


def metrics_token(secret: str, host_uuid: str) -> str:
    """The credential of ``GET /metrics/<host_uuid>``: derived from the host's secret, so the
    portal can hand it to Prometheus without handing over the secret that signs operations."""
    return hmac.new(secret.encode(), f"metrics:{host_uuid}".encode(), hashlib.sha256).hexdigest()

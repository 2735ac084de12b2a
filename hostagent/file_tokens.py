"""Tokens for ``GET /files/<host_uuid>``: a host's file read by another host (a cold migration
copies a VM's volumes this way). The portal makes the token with the source host's secret, so it
hands the destination a URL good for one path until ``expires`` without handing over the secret.
Stdlib only: the portal imports it."""
import hashlib
import hmac
import time
import urllib.parse

FILES_PREFIX = "/files/"


def file_token(secret: str, host_uuid: str, path: str, expires: int) -> str:
    message = f"GET\n{FILES_PREFIX}{host_uuid}\n{path}\n{int(expires)}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def file_url(agent_base_url: str, host_uuid: str, secret: str, path: str, ttl: int = 3600) -> str:
    """The URL another host GETs ``path`` of host ``host_uuid`` at (its agent serves it)."""
    expires = int(time.time()) + ttl
    query = urllib.parse.urlencode({"path": path, "expires": expires,
                                    "token": file_token(secret, host_uuid, path, expires)})
    return f"{agent_base_url.rstrip('/')}{FILES_PREFIX}{host_uuid}?{query}"


def check(secret: str, host_uuid: str, path: str, expires: str, token: str, now=None) -> bool:
    try:
        expires = int(expires)
    except (TypeError, ValueError):
        return False
    if expires < (now or time.time()):
        return False
    return hmac.compare_digest(file_token(secret, host_uuid, path, expires), str(token or "").lower())

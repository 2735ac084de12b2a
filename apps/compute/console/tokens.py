"""Console tokens: signed (HMAC with SECRET_KEY, ``django.core.signing``), short-lived
(``vm/console.token.ttl``), bound to one user and one VM, usable once.

The token carries ``{"u": user uuid, "v": vm uuid, "n": nonce, "e": expiry}``;
nothing in it is secret, the signature makes it unforgeable. "Used" is the nonce
added to the cache (Redis when ``REDIS_URL`` is set; per process otherwise).
"""
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from django.core import signing
from django.core.cache import cache

from ..globalconfig import CONSOLE_TOKEN_TTL

SALT = "cloudportal.compute.console"


@dataclass(frozen=True)
class Claims:
    user_uuid: str
    vm_uuid: str
    nonce: str
    expires: int

    @property
    def expires_at(self):
        return datetime.fromtimestamp(self.expires, tz=timezone.utc)


class BadToken(Exception):
    """``reason`` says why, for the close frame or the page (never which part was wrong in detail)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def issue(user, vm, ttl=None):
    """A new token for ``user`` on ``vm``; returns ``(token, claims)``."""
    ttl = int(ttl if ttl is not None else CONSOLE_TOKEN_TTL.value())
    claims = Claims(str(user.uuid), str(vm.uuid), secrets.token_urlsafe(12), int(time.time()) + ttl)
    token = signing.dumps({"u": claims.user_uuid, "v": claims.vm_uuid, "n": claims.nonce, "e": claims.expires},
                          salt=SALT, compress=False)
    return token, claims


def verify(token):
    """The claims of a genuine, unexpired token (BadToken otherwise). Does not use it up."""
    try:
        data = signing.loads(token, salt=SALT)
        claims = Claims(str(data["u"]), str(data["v"]), str(data["n"]), int(data["e"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BadToken("invalid console token") from None
    if claims.expires < time.time():
        raise BadToken("the console token expired")
    if cache.get(_used_key(claims)) is not None:
        raise BadToken("the console token was used already")
    return claims


def consume(claims):
    """Mark the token used; False when another connection used it first."""
    ttl = max(1, int(claims.expires - time.time()) + 5)
    return cache.add(_used_key(claims), 1, timeout=ttl)


def _used_key(claims):
    return f"console-token-used:{claims.nonce}"

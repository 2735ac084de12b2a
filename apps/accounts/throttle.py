"""Failed logins, counted per user name and per client address in Django's cache.

``LOGIN_FAILURE_LIMIT`` failures (default 10) within ``LOGIN_FAILURE_WINDOW`` seconds (default 60)
for one user name, or from one address, refuse every further attempt for that name or from that
address for the next window: the API answers 429 with ``Retry-After``. A refused attempt checks no
password and does not count; a successful login is not delayed, does not count, and clears its
user name's failures (not its address's: a login of one's own account must not open the door for
guesses at others).

The cache is Redis with ``REDIS_URL`` (shared by every web process); without it, the process's
own memory (zero-setup: one web process). Keys carry ``LOGIN_THROTTLE_PREFIX``.
"""
import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache


def _limit():
    return int(getattr(settings, "LOGIN_FAILURE_LIMIT", 10))


def _window():
    return int(getattr(settings, "LOGIN_FAILURE_WINDOW", 60))


def client_address(request):
    """The address to count a login under: the peer's, or behind ``TRUSTED_PROXY_COUNT`` reverse
    proxies the one the first of them saw (the N-th from the right in X-Forwarded-For). Anything
    further left is what the client wrote itself, and trusting it would let a client pick a new
    address for every guess."""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    address = request.META.get("REMOTE_ADDR", "")
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address[:64] or "unknown"


def _keys(username, address):
    prefix = getattr(settings, "LOGIN_THROTTLE_PREFIX", "cp:login")
    name = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()  # any length, any text
    return [f"{prefix}:user:{name}", f"{prefix}:addr:{address}"]


def refused_for(username, address):
    """Seconds until ``username`` may try again from ``address`` (0: it may now)."""
    locks = cache.get_many([f"{key}:locked" for key in _keys(username, address)])
    if not locks:
        return 0
    return max(0, math.ceil(max(locks.values()) - time.time()))


def failed(username, address):
    """Count a wrong password (or unknown user name); lock what reached the limit."""
    window = _window()
    for key in _keys(username, address):
        cache.add(key, 0, timeout=window)  # the window starts with its first failure
        try:
            count = cache.incr(key)
        except ValueError:  # the window ended between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
        if count >= _limit():
            cache.set(f"{key}:locked", time.time() + window, timeout=window)


def succeeded(username):
    cache.delete(_keys(username, "")[0])

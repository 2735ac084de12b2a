import copy
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import Account, ApiToken, User, _hash


LAST_USED_RESOLUTION = timedelta(minutes=1)


class RecentTokens:
    """The tokens this process checked in the last ``API_TOKEN_CACHE_SECONDS`` (default 1 s):
    digest -> (token with its user and account, when it was read).

    A busy client sends many requests a second with one token; each would otherwise read the
    token, its user and its account again. An entry is trusted for at most that long, so a token
    revoked, a user deactivated or an account changed by another process takes effect there
    within a second; in this process at once, as any save or delete of a token, user or account
    empties the cache (a bulk ``QuerySet.update`` sends no signal: up to a second then too).
    Each request gets its own copies of the user and account, never the cached objects.
    """

    clock = staticmethod(time.monotonic)

    def __init__(self):
        self._entries = {}
        self._lock = threading.Lock()

    @staticmethod
    def ttl():
        return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 1.0))

    def get(self, digest):
        entry = self._entries.get(digest)
        if entry is None:
            return None
        token, read_at = entry
        if self.clock() - read_at >= self.ttl():
            with self._lock:
                if self._entries.get(digest) is entry:
                    del self._entries[digest]
            return None
        return _detached(token)

    def put(self, digest, token, read_at):
        if self.ttl() <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:  # many distinct tokens: drop the lot rather than grow
                self._entries.clear()
            self._entries[digest] = (_detached(token), read_at)

    def touched(self, digest, last_used_at):
        entry = self._entries.get(digest)
        if entry is not None:
            entry[0].last_used_at = last_used_at

    def clear(self, **_):
        with self._lock:
            self._entries.clear()


def _detached(token):
    """A copy of ``token`` whose user and account are copies too (requests may change them)."""
    token = copy.copy(token)
    user = copy.copy(token.user)
    if user.account_id is not None and User.account.is_cached(user):
        user.account = copy.copy(user.account)
    token.user = user
    return token


recent_tokens = RecentTokens()
for _model in (ApiToken, User, Account):
    post_save.connect(recent_tokens.clear, sender=_model, dispatch_uid=f"recent-tokens-save-{_model.__name__}")
    post_delete.connect(recent_tokens.clear, sender=_model, dispatch_uid=f"recent-tokens-delete-{_model.__name__}")


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` against hashed ApiToken rows (see RecentTokens)."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        digest = _hash(key)
        token = recent_tokens.get(digest)  # only tokens of active users are kept
        if token is None:
            read_at = recent_tokens.clock()
            token = ApiToken.lookup(key)
            if token is None or not token.user.is_active:
                raise exceptions.AuthenticationFailed("invalid or revoked token")
            self._touch(token)
            recent_tokens.put(digest, token, read_at)
        elif self._touch(token):
            recent_tokens.touched(digest, token.last_used_at)
        return token.user, key

    @staticmethod
    def _touch(token):
        """Record the token's use, at most one write per token a minute (a read-only request
        should not commit)."""
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
            return True
        return False

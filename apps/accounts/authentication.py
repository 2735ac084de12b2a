from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken


LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` against hashed ApiToken rows."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = ApiToken.lookup(key)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("invalid or revoked token")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            # at most one write per token a minute: a read-only request should not commit
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, key

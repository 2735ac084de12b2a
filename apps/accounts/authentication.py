from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` against hashed ApiToken rows."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = ApiToken.lookup(key)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("invalid or revoked token")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, key

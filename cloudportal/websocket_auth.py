"""Websocket authentication: ``?token=<api token>`` or the browser session. The portal's glue (it
knows the accounts app's tokens), so it lives here rather than in apps/core."""
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key):
    from apps.accounts.models import ApiToken

    token = ApiToken.lookup(key)
    return token.user if token and token.user.is_active else None


@database_sync_to_async
def _user_for_session(scope):
    from django.contrib.auth import get_user

    class _Req:  # get_user needs only .session
        session = scope["session"]

    user = get_user(_Req())
    if user.is_authenticated:
        _ = user.account  # load the account while we are in a sync thread
    return user


class TokenOrSessionAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope):
        query = parse_qs(scope.get("query_string", b"").decode())
        user = None
        if query.get("token"):
            user = await _user_for_token(query["token"][0])
        elif "session" in scope:
            user = await _user_for_session(scope)
        scope["user"]._wrapped = user or AnonymousUser()

"""ClientToken on the actions that make or link something: the decorated handler runs once per
token; the same call sent again (a retry after a lost answer) gets the first answer back and
creates nothing more. Built on idempotency.replay/remember."""
import functools

from . import idempotency


def idempotent(handler):
    @functools.wraps(handler)
    def once_per_token(call):
        earlier = idempotency.replay(call)
        if earlier is not None:
            return earlier
        return idempotency.remember(call, handler(call))
    return once_per_token

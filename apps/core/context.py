"""Who is acting and on behalf of which request, for audit and change logs.

Set by the API (per request) and by the job engine (per job), read by the change
log and event publishers. Context variables work the same under threads and asyncio.
"""
import contextlib
import contextvars
import uuid

request_id = contextvars.ContextVar("request_id", default="")
actor = contextvars.ContextVar("actor", default=None)  # accounts.User or None
job_uuid = contextvars.ContextVar("job_uuid", default=None)


def new_request_id():
    return uuid.uuid4().hex


@contextlib.contextmanager
def acting(*, user=None, req_id=None, job=None):
    tokens = [
        (actor, actor.set(user)),
        (request_id, request_id.set(req_id or new_request_id())),
        (job_uuid, job_uuid.set(job)),
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)

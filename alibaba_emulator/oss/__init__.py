"""OSS for the Alibaba Cloud emulator: what oss2 sends to an IP endpoint (path style, /bucket/key),
answered as the real service answers it, with object bytes kept in files under
`<state dir>/oss/` (see store.py).

The rest of the emulator calls two functions:
- `handle(request, emulator)` answers one OSS request (every request that is neither ECS/VPC nor
  the admin API);
- `object_info(emulator, account, bucket, key)` tells ECS ImportImage whether an object exists.
Buckets are records in each account's table `buckets` of the emulator's state (store.py), so the
admin API's state and reset cover OSS too."""
import logging
import math
import time

from aiohttp import web

from . import bodies, routing, signing, store
from .call import Call
from .errors import OssError, error_response

log = logging.getLogger("alibaba_emulator.oss")

PRODUCT = "Oss"


def _limit(call: Call) -> None:
    """Throttling and injected faults the admin API asked for, for this operation."""
    retry_after = call.emulator.take_throttle(PRODUCT, call.operation)
    if retry_after is not None:
        if call.operation in routing.META_OPERATIONS:
            error = OssError(503, "MetaOperationQpsLimitExceeded", "Qps limit for the meta operation is exceeded")
        else:
            error = OssError(503, "TotalQpsLimitExceeded", "Max total qps limit is exceeded")
        error.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        raise error
    fault = call.emulator.take_fault(PRODUCT, call.operation)
    if fault is not None:
        raise OssError(fault.http_status, fault.code, fault.message)


async def handle(request: web.Request, emulator) -> web.StreamResponse:
    """Answer one OSS request. GetObject answers stream the object's file (a StreamResponse that
    sends its body when aiohttp prepares it); every other answer is a plain Response."""
    request_id = emulator.request_id()
    try:
        call = Call(request, emulator, store.store_for(emulator), request_id)
        # The signature is checked against the wall clock: clients sign with theirs.
        access_key_id = signing.verify(call.signed, emulator, time.time())
        if access_key_id is not None:
            call.access_key_id, call.account = access_key_id, emulator.account_for(access_key_id)
        call.operation = routing.operation(call)
        _limit(call)
        return await routing.HANDLERS[call.operation](call)
    except OssError as error:
        await bodies.drain(request)
        return error_response(error, method=request.method, request_id=request_id, host_id=request.host)
    except Exception:
        log.exception("OSS request %s %s failed (request id %s)", request.method, request.path, request_id)
        await bodies.drain(request)
        error = OssError(500, "InternalError", "We encountered an internal error. Please try again.")
        return error_response(error, method=request.method, request_id=request_id, host_id=request.host)


def object_info(emulator, account: str, bucket: str, key: str) -> dict | None:
    """{"size", "etag", "region"} of an object `account` may read, else None."""
    found_bucket = store.store_for(emulator).bucket(bucket)
    if found_bucket is None or (found_bucket.account != account and found_bucket.acl == "private"):
        return None
    found = found_bucket.objects.get(key)
    if found is None:
        return None
    return {"size": found.size, "etag": found.etag, "region": found_bucket.region}

"""The emulator's HTTP server (aiohttp, one port): signed ECS/VPC RPC calls, the `/_emulator/`
admin API, and everything else to the OSS module."""
import json
import logging
from urllib.parse import parse_qsl

from aiohttp import web

from . import admin, oss, products, registry  # noqa: F401  (products declares the actions)
from .errors import ApiError
from .params import Params
from .regions import check_region
from .signing import NonceCache, verify_acs3, verify_v2

log = logging.getLogger("alibaba_emulator.server")

HOSTS = {"Ecs": "ecs.aliyuncs.com", "Vpc": "vpc.aliyuncs.com"}


def json_response(status, payload, request_id, headers=None):
    out = {"x-acs-request-id": request_id, **(headers or {})}
    return web.Response(status=status, body=json.dumps(payload, separators=(",", ":")).encode(),
                        content_type="application/json", charset="utf-8", headers=out)


def error_response(error, request_id, product="Ecs"):
    headers = {}
    if error.retry_after is not None:
        headers["x-acs-retry-after"] = str(max(1, int(error.retry_after * 1000)))
    return json_response(error.http_status, error.body(request_id, HOSTS.get(product, "aliyuncs.com")),
                         request_id, headers)


def _form_params(request, body):
    if body and request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {}


async def handle_rpc(request, emulator, nonces):
    request_id = emulator.request_id()
    product = "Ecs"
    try:
        body = await request.read()
        query = dict(parse_qsl(request.query_string, keep_blank_values=True))
        form = _form_params(request, body)
        now = emulator.now()
        if "Signature" in query:
            access_key_id = verify_v2(request.method, {**query, **form}, emulator.secret_for, nonces, now)
        else:
            access_key_id = verify_acs3(request.method, request.path, query, request.headers, body,
                                        emulator.secret_for, nonces, now)
        params = Params({**query, **form})
        version = request.headers.get("x-acs-version") or params.raw("Version")
        product = registry.PRODUCT_VERSIONS.get(version)
        if product is None:
            raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        name = request.headers.get("x-acs-action") or params.raw("Action")
        declared = registry.find(product, name)
        if declared is None:
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        return _answer(emulator, declared, params, emulator.account_for(access_key_id), request_id)
    except ApiError as error:
        if error.http_status >= 500 or error.code not in ("InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch"):
            log.info("%s %s: %s", product, request.headers.get("x-acs-action", "?"), error.code)
        return error_response(error, request_id, product)
    except Exception:
        # an emulator bug must look like the real service's internal error, never a traceback
        log.exception("internal error answering %s", request.rel_url)
        return error_response(ApiError(500, "InternalError",
                                       "The request processing has failed due to some unknown error."),
                              request_id, product)


def _answer(emulator, declared, params, account, request_id):
    emulator.settle()
    retry_after = emulator.take_throttle(declared.product, declared.name)
    if retry_after is not None:
        raise ApiError(400, "Throttling.User", "Request was denied due to user flow control.", retry_after=retry_after)
    fault = emulator.take_fault(declared.product, declared.name)
    if fault is not None:
        raise ApiError(fault.http_status, fault.code, fault.message)
    region = None
    if declared.regional:
        region = params.str("RegionId", required=True)
        check_region(region)
    call = registry.Call(emulator, declared.product, declared.name, params, account, region, request_id)
    answer = declared.handler(call) or {}
    if not declared.reads:
        emulator.save()
    return json_response(200, {"RequestId": request_id, **answer}, request_id)


def _xml_error(status, code, message, request_id):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message
            + "</Message><RequestId>" + request_id + "</RequestId><HostId>oss-emulator</HostId></Error>")
    return web.Response(status=status, body=body.encode(), content_type="application/xml",
                        headers={"x-oss-request-id": request_id})


async def handle_oss(request, emulator):
    try:
        return await oss.handle(request, emulator)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("internal error answering OSS %s %s", request.method, request.rel_url)
        return _xml_error(500, "InternalError", "We encountered an internal error. Please try again.",
                          emulator.request_id())


def make_app(emulator):
    nonces = NonceCache()

    async def dispatch(request):
        if request.path.startswith("/_emulator/"):
            return await admin.handle(request, emulator)
        if "x-acs-action" in request.headers or "Action" in request.query:
            return await handle_rpc(request, emulator, nonces)
        return await handle_oss(request, emulator)

    app = web.Application(client_max_size=1024 ** 3)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app

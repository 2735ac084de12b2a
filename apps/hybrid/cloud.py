"""Alibaba Cloud through its official SDKs: the ECS, VPC and OSS clients of one AccessKey in one
region, and every call's failure as the portal's error (``{"code", "message", "details"}``, the
cloud's Code, Message and RequestId in ``details``), never the SDK's exception.

    cloud = Cloud.of(data_center)                      # or Cloud(access_key, "cn-hangzhou")
    body = cloud.ecs("DescribeZones", {})              # RegionId is added; the answer as the cloud wrote it
    for item in cloud.ecs_pages("DescribeInstances", {}, "Instances.Instance"):
        ...

Parameters and answers use the cloud's own names (PascalCase, as in Alibaba's API reference):
they go through the SDK's request model (``<Action>Request.from_map``) and come back as its
response body's ``to_map()``. ``ALIBABA_CLOUD_ENDPOINT`` (the emulator the project ships, say)
replaces every regional endpoint of the three products. Throttled calls are retried with backoff,
waiting what the cloud's ``x-acs-retry-after`` says when it says it.
"""
import functools
import logging
import time
from urllib.parse import urlsplit

from django.conf import settings

from apps.core.errors import CloudPortalError

from .globalconfig import THROTTLE_RETRIES

log = logging.getLogger(__name__)

PRODUCTS = {"Ecs": "alibabacloud_ecs20140526", "Vpc": "alibabacloud_vpc20160428"}
CONNECT_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 30000
MAX_BACKOFF_SECONDS = 10.0
OSS_CONNECT_TIMEOUT = 10
MESSAGE_LIMIT = 500   # of the cloud's message kept in an error (some quote the whole string to sign)


class AlibabaError(CloudPortalError):
    """A call the cloud refused or could not answer; ``details`` names the call and what the cloud said."""

    status = 502
    code = "ALIBABA_ERROR"


# OSS's codes for "too many requests" (the ECS and VPC APIs say Throttling*)
OSS_THROTTLING = ("TotalQpsLimitExceeded", "MetaOperationQpsLimitExceeded", "QpsLimitExceeded")
# the cloud's error codes (exact, or a prefix ending in ".") -> (HTTP status, portal code, sentence)
AUTH_FAILED = (400, "ALIBABA_AUTH_FAILED", "Alibaba Cloud refused the AccessKey: check its id and secret")
ERROR_RULES = [
    (("InvalidAccessKeyId", "InvalidAccessKeyId.", "SignatureDoesNotMatch", "IncompleteSignature",
      "InvalidAccessKeySecret", "SignatureNonceUsed", "InvalidSecurityToken."), AUTH_FAILED),
    (("Forbidden", "Forbidden.", "NoPermission", "NoPermission.", "Forbidden.RAM", "UnauthorizedOperation"),
     (403, "ALIBABA_FORBIDDEN", "the AccessKey may not do this in Alibaba Cloud (its RAM permissions)")),
    (("QuotaExceed.", "QuotaExceeded", "QuotaExceeded.", "QuotaExceed"),
     (422, "ALIBABA_QUOTA_EXCEEDED", "the Alibaba Cloud account's quota is used up")),
    (("OperationDenied.NoStock", "Zone.NotOnSale", "InvalidInstanceType.NotSupported", "NoStock",
      "OperationDenied.NoStock."),
     (422, "ALIBABA_NO_STOCK", "Alibaba Cloud has no stock of this resource in this zone")),
    (("IncorrectInstanceStatus", "IncorrectInstanceStatus.", "IncorrectStatus", "IncorrectStatus.",
      "InvalidStatus", "InvalidStatus.", "IncorrectVpcStatus", "IncorrectVSwitchStatus", "ChargeTypeViolation",
      "InvalidOperation.DeletionProtection"),
     (409, "ALIBABA_WRONG_STATE", "the resource is not in a state Alibaba Cloud accepts this in")),
    (("Throttling", "Throttling.", *OSS_THROTTLING),
     (503, "ALIBABA_THROTTLED", "Alibaba Cloud kept refusing the call as too frequent; try again later")),
    (("MissingParameter", "MissingParameter.", "InvalidParameter", "InvalidParameter."),
     (400, "ALIBABA_INVALID_ARGUMENT", "Alibaba Cloud refused a parameter of the call")),
    # the network's (H4, H7): a VPC that still holds vSwitches, a group with instances; an EIP or a
    # route entry on its way somewhere
    (("DependencyViolation", "DependencyViolation."),
     (409, "ALIBABA_IN_USE", "Alibaba Cloud will not delete what is still used or holds others")),
    (("IncorrectEipStatus", "IncorrectRouteEntryStatus", "OperationDenied.SystemRouteEntry"),
     (409, "ALIBABA_WRONG_STATE", "the resource is not in a state Alibaba Cloud accepts this in")),
]
NOT_FOUND = (404, "ALIBABA_NOT_FOUND", "Alibaba Cloud does not know this resource")


def _rule_for(code, http_status):
    for codes, rule in ERROR_RULES:
        for known in codes:
            if code == known or (known.endswith(".") and code.startswith(known)):
                return rule
    if code.endswith(".NotFound") or code.endswith("NotFound") or http_status == 404:
        return NOT_FOUND
    if code.startswith("Invalid"):
        return (400, "ALIBABA_INVALID_ARGUMENT", "Alibaba Cloud refused a parameter of the call")
    if http_status and http_status >= 500:
        return (502, "ALIBABA_SERVICE_ERROR", "Alibaba Cloud failed to answer the call")
    return (400, "ALIBABA_REFUSED", "Alibaba Cloud refused the call")


def cloud_error(product, action, code, message, request_id, http_status):
    """The portal's error for what the cloud answered to ``product``'s ``action``."""
    status, portal_code, sentence = _rule_for(code or "", http_status)
    message = (message or "").strip()
    details = {"product": product, "action": action, "cloud_code": code or "", "cloud_message": message[:MESSAGE_LIMIT],
               "request_id": request_id or "", "http_status": http_status}
    said = f": {code}" + (f" ({message[:200]})" if message else "") if code else ""
    return AlibabaError(f"{sentence}{said}", code=portal_code, status=status, details=details)


def unreachable(product, action, endpoint, reason):
    return AlibabaError(
        f"Alibaba Cloud's {product} endpoint {endpoint} could not be reached ({reason}); check "
        "ALIBABA_CLOUD_ENDPOINT, the network, or try again", code="ALIBABA_UNREACHABLE", status=503,
        details={"product": product, "action": action, "endpoint": endpoint})


def _sdk_error(product, action, endpoint, exc):
    """The portal's error for an exception the Tea SDK raised (AlibabaCloudException: the cloud
    answered an error; UnretryableException: it could not be reached; anything else: a request the
    SDK would not send)."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

    if isinstance(exc, AlibabaCloudException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = data.get("Message") or data.get("message") or ""
        said = [value if value not in (None, "None") else "" for value in (exc.code, exc.request_id)]  # f"{None}"
        return cloud_error(product, action, said[0], message, said[1], exc.status_code)
    from darabonba.exceptions import RetryError

    inner = getattr(exc, "inner_exception", None) or exc
    if isinstance(inner, (RetryError, OSError)):   # the SDK's wrapping of the connection's IOError
        text = str(getattr(inner, "message", "") or inner).lower()
        reason = "timed out" if "timed out" in text else "connection refused" if "refused" in text else \
            "connection failed"
        return unreachable(product, action, endpoint, reason)
    log.error("Alibaba Cloud %s %s could not be sent: %s", product, action, type(exc).__name__)
    return AlibabaError(f"the portal could not make the {product} call {action}; the portal's log has the details",
                        code="ALIBABA_CALL_FAILED", status=502, details={"product": product, "action": action})


def throttle_wait(exc, attempt):
    """Seconds to wait before retrying a throttled call (None: not throttled). The cloud's
    ``x-acs-retry-after`` (ms, ``retry_after`` on the SDK's ThrottlingException) when it said one,
    else 0.5 s doubled each attempt; never more than MAX_BACKOFF_SECONDS."""
    code = getattr(exc, "code", None) or ""
    retry_after = getattr(exc, "retry_after", None)
    if code in OSS_THROTTLING:   # OSS says it its own way: 503 and Retry-After in seconds
        seconds = (getattr(exc, "headers", None) or {}).get("Retry-After", "")
        retry_after = 1000 * int(seconds) if str(seconds).isdigit() else None
    elif not (code.startswith("Throttling") or retry_after):
        return None
    seconds = retry_after / 1000.0 if retry_after else 0.5 * (2 ** attempt)
    return min(max(seconds, 0.05), MAX_BACKOFF_SECONDS)


def with_retries(product, action, call):
    """``call()``, retried while the cloud throttles it, up to ``hybrid/throttle.retries`` times."""
    retries = THROTTLE_RETRIES.value()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - only throttling is retried; the rest is translated by the caller
            wait = throttle_wait(exc, attempt)
            if wait is None or attempt >= retries:
                raise
            log.info("Alibaba Cloud throttled %s %s; retry %d in %.2f s", product, action, attempt + 1, wait)
            time.sleep(wait)
            attempt += 1


def endpoint_setting():
    """(protocol, host[:port]) of ``ALIBABA_CLOUD_ENDPOINT``, or None for the real service."""
    url = getattr(settings, "ALIBABA_CLOUD_ENDPOINT", "") or ""
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return parts.scheme, parts.netloc


@functools.lru_cache(maxsize=64)
def _sdk_client(product, access_key_id, access_key_secret, region_id, endpoint):
    """The SDK's client (kept per process: it holds no state of a call, and building one reads its
    endpoint tables)."""
    import importlib

    from alibabacloud_tea_openapi.utils_models import Config

    module = importlib.import_module(f"{PRODUCTS[product]}.client")
    config = Config(access_key_id=access_key_id, access_key_secret=access_key_secret, region_id=region_id,
                    connect_timeout=CONNECT_TIMEOUT_MS, read_timeout=READ_TIMEOUT_MS)
    if endpoint is not None:
        config.protocol, config.endpoint = endpoint
    return module.Client(config)


@functools.lru_cache(maxsize=None)
def _method_names(client_class):
    """{lower-case action without underscores: the client's ``*_with_options`` method}."""
    suffix = "_with_options"
    return {name[:-len(suffix)].replace("_", ""): name for name in dir(client_class)
            if name.endswith(suffix) and not name.endswith("_async" + suffix) and not name.startswith("_")}


@functools.lru_cache(maxsize=None)
def _request_class(product, action):
    import importlib

    models = importlib.import_module(f"{PRODUCTS[product]}.models")
    return getattr(models, f"{action}Request")


@functools.lru_cache(maxsize=None)
def _takes_region(request_class):
    return hasattr(request_class(), "region_id")


def _path(body, path):
    """``body["Instances"]["Instance"]`` for ``"Instances.Instance"`` (a missing step: [])."""
    for step in path.split("."):
        body = body.get(step) if isinstance(body, dict) else None
        if body is None:
            return []
    return body


class Cloud:
    """The calls of one AccessKey (an ``AlibabaAccessKey``, or its id and secret) in one region."""

    def __init__(self, access_key, region_id, access_key_secret=None):
        if access_key_secret is None:
            self.access_key_id, self.secret = access_key.access_key_id, access_key.access_key_secret
        else:
            self.access_key_id, self.secret = access_key, access_key_secret
        self.region_id = region_id

    @classmethod
    def of(cls, data_center):
        return cls(data_center.access_key, data_center.region_id)

    def __repr__(self):   # never the secret
        return f"Cloud({self.access_key_id}, {self.region_id})"

    def endpoint_name(self, product):
        setting = endpoint_setting()
        return f"{setting[0]}://{setting[1]}" if setting else f"{product.lower()}.{self.region_id}.aliyuncs.com"

    # --- ECS and VPC (Tea OpenAPI) ----------------------------------------------------------
    def call(self, product, action, params=None):
        """``action`` of ``product`` ("Ecs", "Vpc") with ``params`` (the cloud's names; RegionId
        added when the action takes one): its answer's body as a dict."""
        from darabonba.runtime import RuntimeOptions

        setting = endpoint_setting()   # read per call: a test or an operator may point the portal elsewhere
        client = _sdk_client(product, self.access_key_id, self.secret, self.region_id, setting)
        method_name = _method_names(type(client)).get(action.lower())
        if method_name is None:
            raise ValueError(f"{product} has no action {action}")
        request_class = _request_class(product, action)
        params = dict(params or {})
        if "RegionId" not in params and _takes_region(request_class):
            params["RegionId"] = self.region_id
        # a proxy of the environment is for the real service, not for an endpoint named here (the emulator)
        runtime = RuntimeOptions(no_proxy=setting[1].rsplit(":", 1)[0]) if setting else RuntimeOptions()

        def send():
            request = request_class().from_map(params)
            return getattr(client, method_name)(request, runtime)

        try:
            response = with_retries(product, action, send)
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes the portal's error
            raise _sdk_error(product, action, self.endpoint_name(product), exc) from None
        body = response.body.to_map() if response.body is not None else {}
        log.debug("Alibaba Cloud %s %s in %s: request %s", product, action, self.region_id, body.get("RequestId"))
        return body

    def ecs(self, action, params=None):
        return self.call("Ecs", action, params)

    def vpc(self, action, params=None):
        return self.call("Vpc", action, params)

    def pages(self, product, action, params, items, page_size=100):
        """Every item of a listing (``items``: where they are in an answer, ``"Instances.Instance"``),
        page after page with ``NextToken``/``MaxResults``."""
        params = dict(params or {}, MaxResults=page_size)
        while True:
            body = self.call(product, action, params)
            yield from _path(body, items)
            token = body.get("NextToken")
            if not token:
                return
            params["NextToken"] = token

    def ecs_pages(self, action, params, items, page_size=100):
        return self.pages("Ecs", action, params, items, page_size)

    def numbered_pages(self, product, action, params, items, page_size=50):
        """Every item of a listing paged by ``PageNumber``/``PageSize`` (most VPC listings,
        DescribeImages), until ``TotalCount`` are read or a page comes back short."""
        params = dict(params or {}, PageSize=page_size)
        number, seen = 1, 0
        while True:
            body = self.call(product, action, {**params, "PageNumber": number})
            page = _path(body, items)
            yield from page
            seen += len(page)
            if len(page) < page_size or seen >= int(body.get("TotalCount") or 0):
                return
            number += 1

    # --- OSS (oss2) ---------------------------------------------------------------------------
    def oss_endpoint(self):
        setting = endpoint_setting()
        return f"{setting[0]}://{setting[1]}" if setting else f"https://oss-{self.region_id}.aliyuncs.com"

    # oss2's clients sign v4 in the data centre's region: a bucket made through them lands in that
    # region (a v1 signature names none, and the bucket lands wherever the endpoint is)
    def oss_bucket(self, bucket_name):
        """An ``oss2.Bucket``; call its methods through ``oss(action, call)`` for the portal's errors."""
        import oss2

        return oss2.Bucket(oss2.AuthV4(self.access_key_id, self.secret), self.oss_endpoint(), bucket_name,
                           region=self.region_id, connect_timeout=OSS_CONNECT_TIMEOUT)

    def oss_service(self):
        import oss2

        return oss2.Service(oss2.AuthV4(self.access_key_id, self.secret), self.oss_endpoint(),
                            region=self.region_id, connect_timeout=OSS_CONNECT_TIMEOUT)

    def oss(self, action, call):
        """``call()`` (an oss2 call named ``action``, "PutObject"), its failure as the portal's error."""
        import oss2

        try:
            return with_retries("Oss", action, call)
        except oss2.exceptions.RequestError as exc:
            raise unreachable("Oss", action, self.oss_endpoint(), type(exc).__name__) from None
        except oss2.exceptions.OssError as exc:
            raise cloud_error("Oss", action, exc.code, exc.message, exc.request_id, exc.status) from None


def is_not_found(error):
    return isinstance(error, AlibabaError) and error.code == "ALIBABA_NOT_FOUND"


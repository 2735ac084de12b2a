"""One OSS call as the handlers see it: which bucket and key, the query, the caller's account,
and the ways to answer (with `x-oss-request-id`, as every OSS answer has)."""
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web

from . import xmldoc
from .errors import OssError, access_denied, no_such_bucket
from .signing import SignedRequest
from .store import BucketRecord, OssStore

# Where a bucket is created when nothing in the request names a region: a v4 signature carries
# one, and so does a Host header such as oss-cn-shanghai.aliyuncs.com (a client that keeps the real
# endpoint and reaches the emulator through a proxy); a v1-signed call to an IP endpoint carries none.
DEFAULT_REGION = "cn-hangzhou"
_SERVICE_HOST = re.compile(r"^(?:(?P<bucket>[a-z0-9][a-z0-9-]*)\.)?oss-(?P<region>[a-z0-9-]+?)(?:-internal)?"
                           r"\.aliyuncs\.com(?::\d+)?$")

# What a bucket's ACL lets accounts other than its owner do.
READ, WRITE, OWNER = "read", "write", "owner"
_ACL_ALLOWS = {"private": set(), "public-read": {READ}, "public-read-write": {READ, WRITE}}


def split_target(raw_target: str, host: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(bucket, key, query parameters) of a request.

    Path style (/bucket/key) is what oss2 sends to an IP endpoint; a client going through a proxy
    to the real endpoint sends the absolute URL and names the bucket in the Host header
    (bucket.oss-<region>.aliyuncs.com). The key is decoded here, from the raw target, so that an
    encoded slash (%2F) and a real one both end up as "/" in the key, as the service treats them."""
    if raw_target.startswith(("http://", "https://")):
        parts = urlsplit(raw_target)
        path, query = parts.path or "/", parts.query
    else:
        path, _, query = raw_target.partition("?")
    service_host = _SERVICE_HOST.match(host)
    if service_host and service_host.group("bucket"):
        bucket, key = service_host.group("bucket"), path[1:]
    else:
        bucket, _, key = path[1:].partition("/")
    return unquote(bucket), unquote(key), parse_qsl(query, keep_blank_values=True)


class Call:
    def __init__(self, request: web.Request, emulator, store: OssStore, request_id: str):
        self.request = request
        self.emulator = emulator
        self.store = store
        self.request_id = request_id
        self.method = request.method
        self.bucket_name, self.key, self.params = split_target(request.raw_path, request.headers.get("Host", ""))
        self.query = dict(self.params)
        self.signed = SignedRequest(self.method, request.headers, self.bucket_name, self.key, self.params)
        self.access_key_id: str | None = None
        self.account: str | None = None
        self.operation = ""

    @property
    def headers(self):
        return self.request.headers

    def now(self) -> float:
        return self.emulator.now()

    def region(self) -> str:
        if self.signed.v4_region:
            return self.signed.v4_region
        service_host = _SERVICE_HOST.match(self.request.headers.get("Host", ""))
        return service_host.group("region") if service_host else DEFAULT_REGION

    def int_param(self, name: str, default: int, maximum: int) -> int:
        value = self.query.get(name, "")
        if value == "":
            return default
        if not value.isdigit() or not 1 <= int(value) <= maximum:
            raise OssError(400, "InvalidArgument", f"Argument {name} must be between 1 and {maximum}.",
                           ArgumentName=name, ArgumentValue=value)
        return int(value)

    def bucket(self, need: str = OWNER) -> BucketRecord:
        """The bucket the call names, if it exists and the caller may do `need` (read, write, owner)."""
        bucket = self.store.bucket(self.bucket_name)
        if bucket is None:
            raise no_such_bucket(self.bucket_name)
        if self.account != bucket.account and need not in _ACL_ALLOWS.get(bucket.acl, set()):
            raise access_denied()
        return bucket

    # ---- answers ----
    def respond(self, status: int = 200, body: bytes = b"", headers: dict | None = None) -> web.Response:
        all_headers = {"x-oss-request-id": self.request_id, **(headers or {})}
        return web.Response(status=status, body=body, headers=all_headers)

    def respond_xml(self, root, status: int = 200, headers: dict | None = None) -> web.Response:
        return self.respond(status, xmldoc.to_bytes(root), {"Content-Type": "application/xml", **(headers or {})})

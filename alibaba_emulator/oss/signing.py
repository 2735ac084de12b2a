"""Checks OSS request signatures the way the service does: v1 (`OSS AK:sig`, HMAC-SHA1 over the
canonical string), v4 (`OSS4-HMAC-SHA256`, region-scoped signing key) and the presigned-URL forms
of both. The result is the caller's AccessKey id, or None for an anonymous request.

Signatures are recomputed from what arrived on the wire (decoded path and query, headers), so a
client that signs anything other than what it sends is refused, as by the real service."""
import base64
import calendar
import hashlib
import hmac
import time
from email.utils import parsedate_tz, mktime_tz

from .errors import OssError, access_denied, invalid_argument

# Query parameters that are part of the v1 canonical resource (the service's documented list; the
# other parameters, such as prefix or max-keys, are not signed in v1).
V1_SUBRESOURCES = frozenset("""
    acl uploads location cors logging website referer lifecycle delete append tagging objectMeta
    uploadId partNumber security-token position img style styleName replication replicationProgress
    replicationLocation cname bucketInfo comp qos live status vod startTime endTime symlink
    x-oss-process response-content-type x-oss-traffic-limit response-content-language
    response-expires response-cache-control response-content-disposition response-content-encoding
    udf udfName udfImage udfId udfImageDesc udfApplication udfApplicationLog restore callback
    callback-var qosInfo policy stat encryption versions versioning versionId requestPayment
    x-oss-request-payer sequential inventory inventoryId continuation-token asyncFetch worm wormId
    wormExtend withHashContext x-oss-enable-md5 x-oss-enable-sha1 x-oss-enable-sha256
    x-oss-hash-ctx x-oss-md5-ctx transferAcceleration regionList cloudboxes x-oss-ac-source-ip
    x-oss-ac-subnet-mask x-oss-ac-vpc-id x-oss-ac-forward-allow metaQuery resourceGroup rtc
    accessMonitor group link objectInfo
""".split())

# The service refuses requests whose time is further than this from its clock.
MAX_CLOCK_SKEW = 15 * 60

V4_ALGORITHM = "OSS4-HMAC-SHA256"
V4_DEFAULT_SIGNED = ("content-type", "content-md5")


class SignedRequest:
    """What a signature covers, taken from the request as received."""

    def __init__(self, method: str, headers, bucket: str, key: str, params: list[tuple[str, str]]):
        self.method = method
        self.headers = headers            # case-insensitive mapping
        self.bucket = bucket
        self.key = key
        self.params = params              # decoded, in the order they came
        self.query = dict(params)
        # The region a v4 signature was scoped to (None for v1): where a new bucket is created.
        self.v4_region: str | None = None


def verify(request: SignedRequest, emulator, now: float) -> str | None:
    """The AccessKey id the request is signed with (None if it carries no signature)."""
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith(V4_ALGORITHM + " "):
        return _verify_v4_header(request, emulator, authorization, now)
    if authorization.startswith("OSS "):
        return _verify_v1_header(request, emulator, authorization, now)
    if authorization:
        raise invalid_argument("Authorization header is invalid.", "Authorization", authorization.split(" ")[0])
    if request.query.get("x-oss-signature-version") == V4_ALGORITHM:
        return _verify_v4_query(request, emulator, now)
    if "OSSAccessKeyId" in request.query:
        return _verify_v1_query(request, emulator, now)
    return None


def _secret(emulator, access_key_id: str) -> str:
    secret = emulator.secret_for(access_key_id)
    if secret is None:
        raise OssError(403, "InvalidAccessKeyId",
                       "The OSS Access Key Id you provided does not exist in our records.",
                       OSSAccessKeyId=access_key_id)
    return secret


def _mismatch(string_to_sign: str, access_key_id: str) -> OssError:
    return OssError(403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. "
                    "Check your key and signing method.",
                    StringToSign=string_to_sign, OSSAccessKeyId=access_key_id)


def _check_clock(request_time: float, now: float) -> None:
    if abs(now - request_time) > MAX_CLOCK_SKEW:
        raise OssError(403, "RequestTimeTooSkewed",
                       "The difference between the request time and the current time is too large.")


# ---- v1 ----

def _v1_string_to_sign(request: SignedRequest, date: str) -> str:
    headers = request.headers
    oss_headers = sorted((name.lower(), value) for name, value in headers.items()
                         if name.lower().startswith("x-oss-"))
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in oss_headers)
    resource = f"/{request.bucket}/{request.key}" if request.bucket else "/"
    subresources = sorted((name, value) for name, value in request.params if name in V1_SUBRESOURCES)
    if subresources:
        resource += "?" + "&".join(f"{name}={value}" if value else name for name, value in subresources)
    return "\n".join([request.method, headers.get("Content-MD5", ""), headers.get("Content-Type", ""),
                      date, canonical_headers + resource])


def _v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _verify_v1_header(request: SignedRequest, emulator, authorization: str, now: float) -> str:
    access_key_id, _, signature = authorization[len("OSS "):].strip().rpartition(":")
    if not access_key_id or not signature:
        raise invalid_argument("Authorization header is invalid.", "Authorization", authorization.split(" ")[0])
    secret = _secret(emulator, access_key_id)
    date = request.headers.get("x-oss-date") or request.headers.get("Date", "")
    parsed = parsedate_tz(date)
    if parsed is None:
        raise access_denied("Missing or invalid Date header.")
    _check_clock(mktime_tz(parsed), now)
    string_to_sign = _v1_string_to_sign(request, date)
    if not hmac.compare_digest(_v1_signature(secret, string_to_sign), signature):
        raise _mismatch(string_to_sign, access_key_id)
    return access_key_id


def _verify_v1_query(request: SignedRequest, emulator, now: float) -> str:
    access_key_id = request.query.get("OSSAccessKeyId", "")
    expires = request.query.get("Expires", "")
    signature = request.query.get("Signature", "")
    secret = _secret(emulator, access_key_id)
    if not expires.isdigit():
        raise access_denied("Invalid Expires in the query string.")
    if int(expires) < now:
        raise access_denied("Request has expired.")
    string_to_sign = _v1_string_to_sign(request, expires)
    if not hmac.compare_digest(_v1_signature(secret, string_to_sign), signature):
        raise _mismatch(string_to_sign, access_key_id)
    return access_key_id


# ---- v4 ----

def _uri_encode(text: str, keep_slash: bool) -> str:
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~." + (b"/" if keep_slash else b"")
    return "".join(chr(byte) if byte in safe else f"%{byte:02X}" for byte in text.encode("utf-8"))


def _v4_canonical_request(request: SignedRequest, additional: list[str], skip_param: str = "") -> str:
    path = f"/{request.bucket}/{request.key}" if request.bucket else "/"
    encoded = sorted((_uri_encode(name, False), _uri_encode(value, False))
                     for name, value in request.params if name != skip_param)
    query = "&".join(f"{name}={value}" if value else name for name, value in encoded)
    signed = [(name.lower(), value) for name, value in request.headers.items()
              if name.lower().startswith("x-oss-") or name.lower() in V4_DEFAULT_SIGNED
              or name.lower() in additional]
    headers = "".join(f"{name}:{value}\n" for name, value in sorted(signed))
    payload = request.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
    return "\n".join([request.method, _uri_encode(path, True), query, headers, ";".join(sorted(additional)),
                      payload])


def _v4_signature(secret: str, date_time: str, scope: list[str], canonical_request: str) -> str:
    date, region, product = scope[0], scope[1], scope[2]
    string_to_sign = "\n".join([V4_ALGORITHM, date_time, "/".join(scope),
                                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (date, region, product, "aliyun_v4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _parse_credential(credential: str) -> tuple[str, list[str]]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aliyun_v4_request" or not parts[0]:
        raise invalid_argument("Invalid credential in the signature.", "x-oss-credential", credential)
    return parts[0], parts[1:]


def _parse_v4_time(date_time: str) -> float:
    try:
        return calendar.timegm(time.strptime(date_time, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise invalid_argument("Invalid x-oss-date.", "x-oss-date", date_time) from None


def _verify_v4_header(request: SignedRequest, emulator, authorization: str, now: float) -> str:
    fields = {}
    for item in authorization[len(V4_ALGORITHM) + 1:].split(","):
        name, _, value = item.strip().partition("=")
        fields[name] = value
    if "Credential" not in fields or "Signature" not in fields:
        raise invalid_argument("Authorization header is invalid.", "Authorization", authorization.split(" ")[0])
    access_key_id, scope = _parse_credential(fields["Credential"])
    secret = _secret(emulator, access_key_id)
    date_time = request.headers.get("x-oss-date", "")
    if not date_time.startswith(scope[0]):
        raise access_denied("The date in the credential scope does not match x-oss-date.")
    _check_clock(_parse_v4_time(date_time), now)
    additional = [name.lower() for name in fields.get("AdditionalHeaders", "").split(";") if name]
    canonical_request = _v4_canonical_request(request, additional)
    if not hmac.compare_digest(_v4_signature(secret, date_time, scope, canonical_request), fields["Signature"]):
        raise _mismatch(canonical_request, access_key_id)
    request.v4_region = scope[1]
    return access_key_id


def _verify_v4_query(request: SignedRequest, emulator, now: float) -> str:
    access_key_id, scope = _parse_credential(request.query.get("x-oss-credential", ""))
    secret = _secret(emulator, access_key_id)
    date_time = request.query.get("x-oss-date", "")
    expires = request.query.get("x-oss-expires", "")
    if not expires.isdigit():
        raise access_denied("Invalid x-oss-expires in the query string.")
    if _parse_v4_time(date_time) + int(expires) < now:
        raise access_denied("Request has expired.")
    additional = [name.lower() for name in request.query.get("x-oss-additional-headers", "").split(";") if name]
    canonical_request = _v4_canonical_request(request, additional, skip_param="x-oss-signature")
    signature = request.query.get("x-oss-signature", "")
    if not hmac.compare_digest(_v4_signature(secret, date_time, scope, canonical_request), signature):
        raise _mismatch(canonical_request, access_key_id)
    request.v4_region = scope[1]
    return access_key_id

"""Signature checks for ECS/VPC calls, computed the way the tea-openapi SDK signs them:
ACS3-HMAC-SHA256 (the default: Authorization header over a canonical request) and the v2 RPC
signature (HMAC-SHA1 over the sorted parameters, `signature_algorithm='v2'`)."""
import base64
import calendar
import hashlib
import hmac
import time
from urllib.parse import quote, quote_plus

from .errors import ApiError, signature_mismatch, unknown_access_key

ACS3 = "ACS3-HMAC-SHA256"
MAX_SKEW = 15 * 60      # seconds, like the real service's InvalidTimeStamp.Expired window


class NonceCache:
    """Nonces seen in the last MAX_SKEW seconds: a replayed signed request is refused."""

    def __init__(self):
        self.seen = {}

    def use(self, nonce, now):
        if len(self.seen) > 100_000:
            self.seen = {n: t for n, t in self.seen.items() if t > now - MAX_SKEW}
        if nonce in self.seen and self.seen[nonce] > now - MAX_SKEW:
            raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.seen[nonce] = now


def _parse_utc(stamp):
    try:
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        raise ApiError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.") from None


def _check_time(stamp, now):
    if abs(_parse_utc(stamp) - now) > MAX_SKEW:
        raise ApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


def _canonical_query(pairs):
    # the SDK sorts by key and encodes values only (keys are plain ASCII parameter names)
    return "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(pairs.items()))


def _canonical_headers(headers, signed_names):
    lines = []
    for name in signed_names:
        values = sorted(v.strip() for v in headers.getall(name, []))
        lines.append(f"{name}:{','.join(values)}\n")
    return "".join(lines)


def _parse_authorization(value):
    algorithm, _, rest = value.partition(" ")
    fields = {}
    for part in rest.split(","):
        key, _, field_value = part.strip().partition("=")
        fields[key] = field_value
    if algorithm != ACS3 or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Alibaba Cloud standards.")
    return fields


def verify_acs3(method, path, query, headers, body, secret_for, nonces, now):
    """Check an ACS3-HMAC-SHA256 call; returns the AccessKey id. `query` is the decoded
    parameter dict, `headers` a multidict, `secret_for(id)` the secret or None."""
    fields = _parse_authorization(headers.get("Authorization", ""))
    access_key_id = fields["Credential"]
    secret = secret_for(access_key_id)
    if secret is None:
        raise unknown_access_key()
    signed_names = [n for n in fields["SignedHeaders"].split(";") if n]
    canonical_request = "\n".join([
        method, path or "/", _canonical_query(query), _canonical_headers(headers, signed_names),
        ";".join(signed_names), hashlib.sha256(body).hexdigest(),
    ])
    string_to_sign = f"{ACS3}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise signature_mismatch(string_to_sign)
    if "x-acs-date" in headers:
        _check_time(headers["x-acs-date"], now)
    if headers.get("x-acs-signature-nonce"):
        nonces.use(headers["x-acs-signature-nonce"], now)
    return access_key_id


def verify_v2(method, params, secret_for, nonces, now):
    """Check a v2 RPC call (HMAC-SHA1; `params` = query plus form body); returns the AccessKey id."""
    access_key_id = params.get("AccessKeyId")
    signature = params.get("Signature")
    if not access_key_id or not signature:
        raise ApiError(400, "MissingParameter", "The input parameter \"AccessKeyId\" or \"Signature\" is not supplied.")
    secret = secret_for(access_key_id)
    if secret is None:
        raise unknown_access_key()
    canonical = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}"
                         for k, v in sorted(params.items()) if k != "Signature")
    string_to_sign = f"{method}&%2F&{quote_plus(canonical, safe='~')}"
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), signature):
        raise signature_mismatch(string_to_sign)
    if params.get("Timestamp"):
        _check_time(params["Timestamp"], now)
    if params.get("SignatureNonce"):
        nonces.use(params["SignatureNonce"], now)
    return access_key_id

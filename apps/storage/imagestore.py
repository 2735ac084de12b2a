"""Hosts fetch image bits from the portal: ``GET /image-store/<sha256>?expires=<unix>&signature=<hex>``.

The signature is HMAC-SHA256 over ``"<sha256>:<expires>"`` with a key derived from SECRET_KEY, so a
URL handed to a host works for ``image/download.urlTtl`` seconds and for that content only.
Served streaming from the backup storage that holds the bits, with single-range support
(``Range: bytes=a-b`` -> 206) so a client can resume.
"""
import hashlib
import hmac
import os
import re
import time

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_http_methods

from .globalconfig import DOWNLOAD_URL_TTL

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _key():
    return hmac.new(settings.SECRET_KEY.encode(), b"cloudportal-image-store", hashlib.sha256).digest()


def signature(sha256, expires):
    return hmac.new(_key(), f"{sha256}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(sha256, ttl=None):
    expires = int(time.time()) + int(ttl if ttl is not None else DOWNLOAD_URL_TTL.value())
    return (f"{settings.PORTAL_URL.rstrip('/')}/image-store/{sha256}"
            f"?expires={expires}&signature={signature(sha256, expires)}")


def blob_for(sha256):
    """The path of a stored copy of these bits, or None."""
    from .models import ImageBackupStorageRef

    for ref in ImageBackupStorageRef.objects.filter(image__sha256=sha256).select_related("backup_storage"):
        path = ref.backup_storage.blob_path(sha256)
        if path.is_file():
            return path
    return None


def _error(status, code, message):
    return JsonResponse({"code": code, "message": message, "details": {}}, status=status)


def _ranged(path, size, header):
    match = RANGE_RE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = end - start + 1

    def chunks():
        with open(path, "rb") as fh:
            fh.seek(start)
            remaining = length
            while remaining > 0:
                data = fh.read(min(1 << 20, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data

    response = StreamingHttpResponse(chunks(), status=206, content_type="application/octet-stream")
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response


@require_http_methods(["GET", "HEAD"])
def serve(request, sha256):
    expires = request.GET.get("expires", "")
    given = request.GET.get("signature", "")
    if not expires.isdigit() or not hmac.compare_digest(given, signature(sha256, int(expires))):
        return _error(403, "BAD_SIGNATURE", "the image URL is not signed by this portal")
    if int(expires) < time.time():
        return _error(403, "URL_EXPIRED", "the image URL has expired; ask the portal for a new one")
    path = blob_for(sha256)
    if path is None:
        return _error(404, "NOT_FOUND", f"no image with sha256 {sha256}")
    size = os.path.getsize(path)
    if request.headers.get("Range"):
        response = _ranged(path, size, request.headers["Range"])
        if response is not None:
            return response
    response = FileResponse(open(path, "rb"), content_type="application/octet-stream")
    response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    return response

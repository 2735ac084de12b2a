"""Bits made on a host reaching the image store: the agent PUTs them to the portal.

An image made from a volume is converted on the host that holds the volume (``/v1/volume/
convert-to-image``), then streamed by the agent to ``PUT /image-store/upload/<backup storage
uuid>/<job uuid>``. The portal writes it to that backup storage's ``tmp/<job>.part`` (the file
the add-image steps take from there: format detection, storing by sha256, Ready), hashing it on
the way. Why a push and not the portal pulling from the agent: the agent already reaches the
portal for the image store and its events, and the agent's protocol answers JSON only.

The upload is allowed by an HMAC over (backup storage, job, expiry) with a key derived from
SECRET_KEY, sent in request headers, never in the URL, so access logs show no credential; it
is good for one job's file until it expires, and only while that job runs.
"""
import hashlib
import hmac
import os
import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

HEADER_EXPIRES = "X-Upload-Expires"
HEADER_SIGNATURE = "X-Upload-Signature"
UPLOAD_TTL = 6 * 3600
CHUNK = 1 << 20


def _key():
    return hmac.new(settings.SECRET_KEY.encode(), b"cloudportal-image-upload", hashlib.sha256).digest()


def _signature(bs_uuid, job_uuid, expires):
    return hmac.new(_key(), f"{bs_uuid}:{job_uuid}:{expires}".encode(), hashlib.sha256).hexdigest()


def upload_target(bs_uuid, job_uuid, ttl=UPLOAD_TTL):
    """What the agent is given: ``{"url", "headers"}`` (never stored in a job's context)."""
    expires = int(time.time()) + ttl
    return {"url": f"{settings.PORTAL_URL.rstrip('/')}/image-store/upload/{bs_uuid}/{job_uuid}",
            "headers": {HEADER_EXPIRES: str(expires), HEADER_SIGNATURE: _signature(bs_uuid, job_uuid, expires)}}


def part_path(bs, job_uuid):
    """Where the upload of ``job_uuid`` lands on backup storage ``bs``."""
    return bs.temp_dir() / f"{job_uuid}.part"


def _error(status, code, message):
    return JsonResponse({"code": code, "message": message, "details": {}}, status=status)


@csrf_exempt
@require_http_methods(["PUT"])
def receive(request, bs_uuid, job_uuid):
    from apps.core.models import Job, JobState

    from .models import BackupStorage

    expires = request.headers.get(HEADER_EXPIRES, "")
    given = request.headers.get(HEADER_SIGNATURE, "")
    if not expires.isdigit() or not hmac.compare_digest(given, _signature(bs_uuid, job_uuid, int(expires))):
        return _error(403, "BAD_SIGNATURE", "the upload is not signed by this portal")
    if int(expires) < time.time():
        return _error(403, "URL_EXPIRED", "the upload's signature has expired")
    if not Job.objects.filter(uuid=job_uuid, state=JobState.RUNNING).exists():
        return _error(409, "JOB_NOT_RUNNING", "the job this upload belongs to is not running")
    bs = BackupStorage.objects.filter(uuid=bs_uuid).first()
    if bs is None:
        return _error(404, "NOT_FOUND", f"no backup storage {bs_uuid}")
    final = part_path(bs, job_uuid)
    temp = final.with_suffix(".receiving")
    digest, size = hashlib.sha256(), 0
    try:
        with open(temp, "wb") as out:
            while chunk := request.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        os.replace(temp, final)
    finally:
        if temp.exists():
            temp.unlink()
    return JsonResponse({"size": size, "sha256": digest.hexdigest()}, status=201)

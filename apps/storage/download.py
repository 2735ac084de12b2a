"""Streaming an image from a URL into a file, hashing it on the way (sha256)."""
import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from .errors import BackupStorageFull, ImageDownloadFailed, UnsupportedUrl

SCHEMES = ("http", "https", "file")
CHUNK = 1 << 20


def check_url(url):
    parsed = urllib.parse.urlsplit(url or "")
    if parsed.scheme not in SCHEMES:
        raise UnsupportedUrl(f"URL scheme {parsed.scheme or '(none)'!r} is not supported; use "
                             f"{', '.join(SCHEMES)}", details={"url": url, "scheme": parsed.scheme})
    if parsed.scheme != "file" and not parsed.hostname:
        raise UnsupportedUrl(f"{url!r} has no host", code="INVALID_URL", details={"url": url})
    return parsed


def _open(url, parsed, timeout):
    """``(stream, total_or_None)``."""
    if parsed.scheme == "file":
        path = urllib.parse.unquote(parsed.path)
        if not os.path.isfile(path):
            raise ImageDownloadFailed(f"{path} is not a file on the portal machine", details={"url": url})
        try:
            return open(path, "rb"), os.path.getsize(path)
        except OSError as exc:
            raise ImageDownloadFailed(f"cannot read {path}: {exc.strerror}", details={"url": url}) from None
    request = urllib.request.Request(url, headers={"User-Agent": "CloudPortal-image-download"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - scheme checked above
    except urllib.error.HTTPError as exc:
        raise ImageDownloadFailed(f"{parsed.hostname} answered {exc.code} {exc.reason} for {url}",
                                  details={"url": url, "http_status": exc.code}) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ImageDownloadFailed(f"cannot reach {parsed.netloc}: {reason}", code="IMAGE_SERVER_UNREACHABLE",
                                  details={"url": url}) from None
    length = response.headers.get("Content-Length")
    return response, int(length) if length and length.isdigit() else None


def fetch(url, dest, *, limit=None, on_progress=None, timeout=60, progress_every=1.0):
    """Copy ``url`` into ``dest``; ``(bytes, sha256 hex)``. ``limit``: most bytes accepted
    (BACKUP_STORAGE_NO_CAPACITY beyond). ``on_progress(done, total_or_None)`` at most every
    ``progress_every`` seconds and once at the end."""
    parsed = check_url(url)
    stream, total = _open(url, parsed, timeout)
    if limit is not None and total is not None and total > limit:
        stream.close()
        raise BackupStorageFull(f"the image is {total} bytes; the backup storage has {limit} available",
                                details={"size": total, "available": limit})
    digest = hashlib.sha256()
    done = 0
    last = time.monotonic()
    try:
        with stream, open(dest, "wb") as out:
            while True:
                try:
                    chunk = stream.read(CHUNK)
                except OSError as exc:
                    raise ImageDownloadFailed(f"the download of {url} broke off after {done} bytes: {exc}",
                                              details={"url": url}) from None
                if not chunk:
                    break
                done += len(chunk)
                if limit is not None and done > limit:
                    raise BackupStorageFull(f"the image is larger than the {limit} bytes the backup storage has",
                                            details={"available": limit})
                digest.update(chunk)
                out.write(chunk)
                if on_progress and time.monotonic() - last >= progress_every:
                    last = time.monotonic()
                    on_progress(done, total)
    except BaseException:
        try:
            os.remove(dest)
        except FileNotFoundError:
            pass
        raise
    if total is not None and done != total:
        os.remove(dest)
        raise ImageDownloadFailed(f"the download of {url} ended after {done} of {total} bytes", details={"url": url})
    if on_progress:
        on_progress(done, total)
    return done, digest.hexdigest()


def hash_file(path, on_progress=None):
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
    if on_progress:
        on_progress(done, done)
    return done, digest.hexdigest()

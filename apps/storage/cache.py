"""Image caches on local primary storage: one file per (primary storage, host, sha256), shared by
every root volume built on it, counted by ``ImageCache.ref_count``.

- ``acquire`` makes sure the file is on the host (the agent downloads it from the portal's signed
  image-store URL, checking the sha256; idempotent) and adds one reference; a cache others count
  already is counted without asking the agent.
- ``release`` removes one reference; when the count reaches 0 the file is removed from the host at
  once and the row and its reserved capacity go, all while the row is locked (SELECT ... FOR UPDATE),
  so a concurrent ``acquire`` either counted first (and the file stays) or finds the row gone and
  starts over (and downloads again).

Counts change only through conditional UPDATEs, never read-modify-write.
"""
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q

from apps.core.errors import CloudPortalError
from apps.core.models import retry_on_lock_conflict
from apps.infra import agent
from apps.infra.models import Host

from . import imagestore, space
from .errors import NoPrimaryStorageCapacity
from .globalconfig import DOWNLOAD_TIMEOUT
from .models import ImageCache, LocalStorageHostRef, PrimaryStorage, Volume

log = logging.getLogger(__name__)
ATTEMPTS = 5


def _row(primary_storage, host, image, host_ref=None, fresh=True):
    """The cache row, created (reserving its bytes on the host) when missing; ``(row, created)``.
    Not ``fresh``: a counted row read less than a second ago may do (its pk and path, for a count
    that checks in SQL that the row is still counted)."""
    if primary_storage.is_shared:
        return _find_or_create_shared(primary_storage, image)
    if not fresh:
        row = ImageCache.objects.kept_of(primary_storage.pk, host.pk, image.sha256)
        if row is not None and row.ref_count > 0:
            return row, False
    return _find_or_create(primary_storage, host, image, host_ref)


@retry_on_lock_conflict   # two makers of a row just removed can deadlock on its delete-marked index entry
def _find_or_create(primary_storage, host, image, host_ref):
    row = ImageCache.objects.of(primary_storage.pk, host.pk, image.sha256)
    if row is not None:
        return row, False
    try:
        return _create(primary_storage, host, image, host_ref), True
    except IntegrityError:   # created concurrently
        return ImageCache.objects.get(primary_storage=primary_storage, host=host, sha256=image.sha256), False


@retry_on_lock_conflict
def _find_or_create_shared(primary_storage, image):
    """A shared storage's one cache row for ``image`` (``host`` NULL), made under a lock on the
    storage's row: MariaDB's unique index does not stop two (ps, NULL, sha256) rows."""
    rows = ImageCache.objects.filter(primary_storage=primary_storage, host__isnull=True, sha256=image.sha256)
    row = rows.first()
    if row is not None:
        return row, False
    with transaction.atomic():
        PrimaryStorage.objects.select_for_update().filter(pk=primary_storage.pk).first()
        row = rows.first()
        if row is not None:
            return row, False
        return _create(primary_storage, None, image, None), True


def _create(primary_storage, host, image, host_ref):
    ref = None if primary_storage.is_shared else (host_ref or LocalStorageHostRef.for_host(primary_storage, host))
    with transaction.atomic():
        # the row first, then the reservation: the INSERT's foreign key check waits (shared) on
        # the host's row, which a VM allocation locks before the same LocalStorageHostRef; in
        # the other order this transaction held the ref while waiting for the host, and the
        # allocation held the host while waiting for the ref (a deadlock, seen in CI)
        row = ImageCache.objects.create(
            primary_storage=primary_storage, host=host, sha256=image.sha256, image=image,
            install_path=primary_storage.cache_path(image.sha256, image.format), format=image.format,
            size=image.size, actual_size=image.actual_size)
        if primary_storage.is_shared:
            space.reserve(primary_storage, None, image.actual_size)   # 422 when it does not fit
        elif ref is None or not ref.reserve(image.actual_size):
            raise NoPrimaryStorageCapacity(
                f"primary storage {primary_storage.name} on host {host.name} has no room to cache "
                f"image {image.name} ({image.actual_size} bytes)",
                details={"primary_storage_uuid": str(primary_storage.uuid), "host_uuid": str(host.uuid),
                         "size": image.actual_size})
    return row


def _drop_unused(row):
    """Delete a row nobody counts (the agent failed before anyone used it) and give its bytes back."""
    with transaction.atomic():
        if ImageCache.objects.filter(pk=row.pk, ref_count=0).delete()[0]:
            space.release(row.primary_storage, row.host, row.actual_size)


def _count(row, on_counted, only_if_counted=False):
    """One more reference on ``row`` (and ``on_counted`` in the same transaction); False when the
    row went away (or, ``only_if_counted``, nobody counted it: its file may be on its way out)."""
    with transaction.atomic():
        if not ImageCache.objects.count_one(row.pk, only_if_counted):
            return False
        row.ref_count += 1
        if on_counted is not None:
            on_counted(row)
        return True


def fetch(row, host, image, request_id=None):
    """Have the agent put ``image`` at ``row``'s path on ``host`` (a no-op when it is there whole)."""
    agent.call(host, "/v1/image/cache", {
        "url": imagestore.signed_url(image.sha256), "sha256": image.sha256, "path": row.install_path,
        "size": image.actual_size}, timeout=DOWNLOAD_TIMEOUT.value(), request_id=request_id)


def acquire(primary_storage, host, image, request_id=None, host_ref=None, on_counted=None):
    """Make sure ``image`` is cached on ``host``'s ``primary_storage`` and count one user; the row
    (its ``ref_count`` is this caller's count, not re-read). ``host_ref``: that pair's
    LocalStorageHostRef when the caller has it (only its pk is used). ``on_counted(row)`` runs in
    the transaction that counts the reference: a flow step records the reference in its context
    there (the engine writes it in that transaction), so the count and the record of it commit together.

    A cache that others already count is counted without asking the agent: its file was fetched
    whole before the first count, and it leaves the host only when the count drops to 0 (with the
    row locked, so this conditional count either comes first or finds the row gone). A file
    removed behind the portal's back is fetched again by whoever finds it missing (CreateRootVolume
    on BACKING_FILE_NOT_FOUND), so the usual VM creation costs no agent round trip here."""
    for attempt in range(ATTEMPTS):
        # first a row read lately (its count is checked by the UPDATE), then what the table says
        row, created = _row(primary_storage, host, image, host_ref, fresh=attempt > 0)
        if not created and row.ref_count > 0 and _count(row, on_counted, only_if_counted=True):
            return row
        try:
            fetch(row, host, image, request_id)
        except Exception:
            if row.ref_count == 0:
                _drop_unused(row)
            raise
        if _count(row, on_counted):
            return row
        log.info("image cache %s on host %s went away while it was fetched; again", row.install_path, host.name)
        request_id = None   # a new agent request: the file may have been removed since
    raise NoPrimaryStorageCapacity(f"could not keep image {image.name} cached on host {host.name}",
                                   code="IMAGE_CACHE_BUSY")


def release(cache_id):
    """One user less; at 0 the file leaves the host and the row goes. True when it was removed."""
    with transaction.atomic():
        # the cache row alone is locked: with select_related, MariaDB would lock its host's row too
        # (no FOR UPDATE OF), holding up every VM allocation on that host during the agent call
        row = ImageCache.objects.select_for_update().filter(pk=cache_id).first()
        if row is None:
            return False
        if row.ref_count > 1:
            ImageCache.objects.filter(pk=row.pk, ref_count__gt=0).update(ref_count=F("ref_count") - 1)
            return False
        row.primary_storage = PrimaryStorage.objects.get(pk=row.primary_storage_id)
        if row.host_id is not None:
            row.host = Host.objects.get(pk=row.host_id)
        reaching = _reaching(row)
        if reaching is not None:
            agent.call(reaching, "/v1/image/uncache", {"path": row.install_path})
        else:   # a shared storage no connected host mounts now: its file stays (nothing refers to it)
            log.warning("image cache %s: no connected host mounts its primary storage; file kept", row.install_path)
        row.delete()
        space.release(row.primary_storage, row.host, row.actual_size)
        return True


def _reaching(row):
    """The host whose agent removes ``row``'s file: its own (local), any mounting one (shared)."""
    return space.agent_host(row.primary_storage, row.host if row.host_id is not None else None)


def remove_unused(rows):
    """Remove the cache files of ``rows`` (an ImageCache queryset) that no volume is built on, and
    their rows: for a host or primary storage that is being deleted or detached, whose caches
    nothing will use again. A count above 0 with no volume is a reference a dead worker left.
    Best effort: a host that cannot be reached keeps its file and is named in the answer,
    ``{"image_caches": {"removed": [paths], "left": [...]}}``; None when there was nothing."""
    backed = Volume.objects.filter(primary_storage=OuterRef("primary_storage"), host=OuterRef("host"),
                                   image_sha256=OuterRef("sha256"))
    # a shared storage's cache (host NULL) backs the volumes of every host
    backed_shared = Volume.objects.filter(primary_storage=OuterRef("primary_storage"), image_sha256=OuterRef("sha256"))
    removed, left = [], []
    unused = rows.filter(Q(~Exists(backed), host__isnull=False) | Q(~Exists(backed_shared), host__isnull=True))
    for row in unused.select_related("host", "primary_storage").order_by("id"):
        reaching = _reaching(row)
        try:
            if reaching is None:
                raise CloudPortalError(f"no connected host mounts primary storage {row.primary_storage.name}",
                                       code="PRIMARY_STORAGE_UNREACHABLE")
            agent.call(reaching, "/v1/image/uncache", {"path": row.install_path})
            removed.append(row.install_path)
        except CloudPortalError as exc:
            name = reaching.name if reaching is not None else "-"
            log.warning("host %s: could not remove image cache %s: %s", name, row.install_path, exc.message)
            left.append({"host_uuid": str(reaching.uuid) if reaching is not None else None, "path": row.install_path,
                         "code": exc.code, "message": exc.message})
        if row.host_id is None:   # shared: its bytes were counted on the storage
            space.release(row.primary_storage, None, row.actual_size)
        row.delete()
    return {"image_caches": {"removed": removed, "left": left}} if removed or left else None

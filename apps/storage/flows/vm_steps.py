"""Storage steps of the VM create flow, in ZStack's order, each undone on failure:

    AllocateHost (compute) -> AllocatePrimaryStorage -> CacheImage -> CreateRootVolume -> ... start

Context contract (ctx values must be JSON-able; each key is read from ``ctx`` first, then from
``ctx.args``):

reads
    host_uuid        str, the host chosen by AllocateHost (``host`` holding a uuid str, a dict with
                     "uuid" or a Host instance is accepted too)
    image_uuid       str, a Ready image
    root_disk_size   int bytes, optional; at least the image's virtual size is used; required for an ISO
    vm_uuid          str, optional: recorded as the root volume's vm_instance_uuid
    vm_name          str, optional: the root volume is named "ROOT-<vm_name>"
    args.primary_storage_uuid  optional: only this primary storage may be chosen
writes
    primary_storage_uuid, primary_storage_reserved (bytes reserved on that host), root_volume_size,
    primary_storage_ref_id (the LocalStorageHostRef holding the reservation)
    image_cache      {"id", "path", "format", "sha256"}  (the cache file on the host; an ISO is attached from here)
    root_volume_uuid, root_volume_path, root_volume_format ("qcow2")  (the disk to give the VM),
    root_volume_made {"size", "actual_size"}  (the file as the agent made it, for the volume's row)
errors (CloudPortalError, in job.error)
    422 NO_PRIMARY_STORAGE_CAPACITY  nothing attached to the host's cluster has room on that host
    409 IMAGE_NOT_READY              the image is not Ready
    409 IMAGE_DISABLED               the image is Disabled
    400 ROOT_DISK_SIZE_REQUIRED      an ISO image without root_disk_size
    409 HOST_AGENT_UNREACHABLE / agent codes (IMAGE_DOWNLOAD_FAILED, IMAGE_CHECKSUM_MISMATCH, ...)

The root volume's uuid is derived from the job's uuid, so a rollback after a worker died mid-step
still finds what to remove. Rows read by several steps (host, image, the chosen primary storage)
come from ``ctx.cached`` (keys ``("host", uuid)``, ``("image", uuid)``, ``("primary_storage", uuid)``);
rollbacks read only the persisted context.
"""
import logging
import uuid as uuid_lib

from django.db import transaction

from apps.core.errors import CloudPortalError, InvalidArgument, InvalidState, NotFound
from apps.core.flows import DbStep, NoRollback, RemoteStep, ctx_cached, ctx_value
from apps.core.states import EnableState
from apps.infra import agent
from apps.infra.flow_context import ctx_host

from .. import cache, shared_room, space
from ..errors import NoPrimaryStorageCapacity
from ..models import (Image, ImageCache, ImageFormat, ImageStatus, LocalStorageHostRef, PrimaryStorage,
                      PrimaryStorageType, Volume, VolumeStatus, VolumeType)

log = logging.getLogger(__name__)


_value = ctx_value


def cached_image(ctx):
    """The flow's image (``image_uuid``, or ``image``: an Image, its uuid or {"uuid"}), read once
    per job run; no state checks (``ctx_image`` makes them)."""
    value = _value(ctx, "image_uuid") or _value(ctx, "image")
    if isinstance(value, Image):
        return value
    if isinstance(value, dict):
        value = value.get("uuid")
    return ctx_cached(ctx, ("image", str(value)), lambda: Image.objects.kept_by_uuid(str(value)))


def ctx_image(ctx):
    image = cached_image(ctx)
    if image.state != EnableState.ENABLED:
        raise InvalidState(f"image {image.name} is Disabled", code="IMAGE_DISABLED",
                           details={"image_uuid": str(image.uuid), "state": image.state})
    if image.status != ImageStatus.READY:
        raise InvalidState(f"image {image.name} is {image.status}, not Ready", code="IMAGE_NOT_READY",
                           details={"image_uuid": str(image.uuid), "status": image.status})
    return image


def root_volume_size(image, root_disk_size=None):
    if image.format == ImageFormat.ISO:
        if not root_disk_size:
            raise InvalidArgument(f"image {image.name} is an ISO: give root_disk_size for the blank root volume",
                                  code="ROOT_DISK_SIZE_REQUIRED")
        return int(root_disk_size)
    return max(int(image.size), int(root_disk_size or 0))


def candidates(host, size, only=None, fresh=True, ps_type=None):
    """``[(primary storage, room)]`` that could take ``size`` bytes on ``host``, most room first:
    local storages' host refs and shared storages' ``shared_room.SharedRoom`` (both have ``pk``,
    ``available_capacity`` and ``reserve(size)``). ``ps_type``: only storages of that type.
    Not ``fresh``: the local refs as read less than a second ago, their figures as they were then:
    for a caller whose reservation checks the room in SQL, and reads fresh when none of them had it."""
    fitting = []
    if ps_type in (None, "", PrimaryStorageType.LOCAL_STORAGE):
        usable_on = LocalStorageHostRef.objects.usable_on if fresh else LocalStorageHostRef.objects.kept_usable_on
        refs = usable_on(host.pk, host.cluster_id, only or None)
        fitting = [ref for ref in refs if ref.available_capacity >= size]
    if ps_type != PrimaryStorageType.LOCAL_STORAGE:
        rooms = shared_room.rooms(host, only, ps_type, fresh)
        fitting += [room for room in rooms if room.available_capacity >= size]
    fitting.sort(key=lambda ref: ref.available_capacity, reverse=True)
    return [(ref.primary_storage, ref) for ref in fitting]


def lately_then_fresh(host, size, only=None, ps_type=None):
    """``candidates`` as read lately first, for a caller whose reservation checks the room in SQL
    (``ref.reserve``), then, only when none of them had it, the table's (a ref already refused is
    not tried again)."""
    tried = set()
    for fresh in (False, True):
        for ps, ref in candidates(host, size, only, fresh=fresh, ps_type=ps_type):
            if (ps.is_shared, ref.pk) not in tried:
                tried.add((ps.is_shared, ref.pk))
                yield ps, ref


def choose_primary_storage(host, size, only=None, ps_type=None):
    """Dry run: the primary storage AllocatePrimaryStorage would pick for ``size`` bytes on ``host``
    (``{"primary_storage_uuid", "name", "type", "available_capacity"}``) or None; changes nothing."""
    found = candidates(host, size, only, ps_type=ps_type)
    if not found:
        return None
    ps, ref = found[0]
    return {"primary_storage_uuid": str(ps.uuid), "name": ps.name, "type": ps.type,
            "available_capacity": ref.available_capacity}


def ctx_primary_storage(ctx):
    """The primary storage AllocatePrimaryStorage chose (``primary_storage_uuid``), loaded once per
    job run (the row itself never changes here: capacity lives on its host refs)."""
    value = ctx.primary_storage_uuid
    return ctx_cached(ctx, ("primary_storage", str(value)), lambda: PrimaryStorage.objects.get(uuid=value))


class AllocatePrimaryStorage(DbStep):
    def run(self, ctx):
        if ctx.get("primary_storage_reserved"):
            return   # done already (a retried step)
        host, image = ctx_host(ctx), ctx_image(ctx)
        size = root_volume_size(image, _value(ctx, "root_disk_size"))
        only = ctx.args.get("primary_storage_uuid")
        ps_type = ctx.args.get("primary_storage_type")

        for ps, ref in lately_then_fresh(host, size, only, ps_type):
            if ref.reserve(size):   # one conditional UPDATE; a concurrent winner makes us try the next
                ctx.primary_storage_uuid = str(ps.uuid)
                # the rollback's row, found without a lookup (None: a shared storage's own row)
                ctx.primary_storage_ref_id = None if ps.is_shared else ref.pk
                ctx.primary_storage_reserved = size
                ctx.root_volume_size = size
                ctx_cached(ctx, ("primary_storage", str(ps.uuid)), lambda: ps)
                # only its pk is used later (conditional UPDATEs): its figures may be stale
                ctx_cached(ctx, ("host_ref", str(ps.uuid), str(host.uuid)), lambda: ref)
                return
        kind = f" of type {ps_type}" if ps_type else ""
        raise NoPrimaryStorageCapacity(
            f"no primary storage{kind} attached to cluster {host.cluster.name} has {size} bytes free on host "
            f"{host.name}", details={"host_uuid": str(host.uuid), "size": size, "primary_storage_type": ps_type})

    def rollback(self, ctx):
        size = ctx.get("primary_storage_reserved")
        if not size:
            return
        ref_id = ctx.get("primary_storage_ref_id")
        if ref_id is not None:
            LocalStorageHostRef(pk=ref_id).release(size)   # one conditional UPDATE (gone: nothing)
        else:   # a shared storage (or a context recorded before primary_storage_ref_id existed)
            ps = PrimaryStorage.objects.filter(uuid=ctx.primary_storage_uuid).first()
            if ps is not None:
                space.release(ps, ctx_host(ctx), size)
        del ctx.primary_storage_reserved
        del ctx.primary_storage_ref_id


class CacheImage(RemoteStep):
    def run(self, ctx):
        if ctx.get("image_cache"):
            return
        host, image, ps = ctx_host(ctx), ctx_image(ctx), ctx_primary_storage(ctx)

        def record(row):  # in the transaction that counts the reference: the engine writes it there
            ctx.image_cache = {"id": row.pk, "path": row.install_path, "format": row.format, "sha256": row.sha256}

        cache.acquire(ps, host, image, request_id=f"{ctx.job.uuid}-cache-image", on_counted=record,
                      host_ref=ctx_cached(ctx, ("host_ref", str(ps.uuid), str(host.uuid)), lambda: None))

    def rollback(self, ctx):
        held = ctx.get("image_cache")
        if held:
            cache.release(held["id"])
            del ctx.image_cache


def root_volume_uuid(ctx):
    return str(uuid_lib.uuid5(uuid_lib.UUID(str(ctx.job.uuid)), "root-volume"))


class CreateRootVolume(RemoteStep):
    """The agent makes the overlay; its row (Ready) is recorded in the transaction of the database
    steps after it. The uuid and path come from the job's uuid and the chosen primary storage, so
    a rollback (in this process or the reaper's) finds the file whether or not the row was written."""

    def run(self, ctx):
        if ctx.get("root_volume_uuid"):
            return   # done already (a retried step)
        host, image, ps = ctx_host(ctx), ctx_image(ctx), ctx_primary_storage(ctx)
        volume_uuid = root_volume_uuid(ctx)
        path = ps.volume_path(volume_uuid)
        size = ctx.get("root_volume_size") or root_volume_size(image, _value(ctx, "root_disk_size"))
        body = {"path": path, "format": "qcow2", "size": size}
        if image.format != ImageFormat.ISO:
            body.update(backing_file=ctx.image_cache["path"], backing_format=image.format)
        request_id = f"{ctx.job.uuid}-create-root-volume"
        try:
            answer = agent.call(host, "/v1/volume/create", body, request_id=request_id)
        except CloudPortalError as exc:
            if exc.code != "BACKING_FILE_NOT_FOUND" or "backing_file" not in body:
                raise
            # the counted cache's file went behind the portal's back (CacheImage trusted the count):
            # fetch it again, then make the overlay
            log.warning("host %s: image cache %s is missing; fetching it again", host.name, body["backing_file"])
            cache.fetch(ImageCache(pk=ctx.image_cache["id"], install_path=body["backing_file"]), host, image)
            answer = agent.call(host, "/v1/volume/create", body, request_id=f"{request_id}-again")
        ctx.root_volume_uuid = volume_uuid
        ctx.root_volume_path = path
        ctx.root_volume_format = "qcow2"
        ctx.root_volume_made = {"size": int(answer.get("size") or size),
                                "actual_size": int(answer.get("actual_size") or 0)}

    def record(self, ctx):
        """The volume's row, Ready (one INSERT, and its change log)."""
        host, image, ps = ctx_host(ctx), ctx_image(ctx), ctx_primary_storage(ctx)
        made = ctx.root_volume_made
        volume_uuid = ctx.root_volume_uuid
        volume = Volume.objects.create(
            uuid=volume_uuid, name=f"ROOT-{_value(ctx, 'vm_name') or _value(ctx, 'vm_uuid') or volume_uuid}",
            account_id=ctx.job.account_id, type=VolumeType.ROOT, status=VolumeStatus.READY,
            size=made["size"], actual_size=made["actual_size"], format=ctx.root_volume_format,
            install_path=ctx.root_volume_path, primary_storage=ps, host=host, image=image,
            image_sha256=image.sha256, vm_instance_uuid=_value(ctx, "vm_uuid"))
        ctx_cached(ctx, ("volume", volume_uuid), lambda: volume)

    def rollback(self, ctx):
        volume = Volume.objects.filter(uuid=root_volume_uuid(ctx)).select_related("host", "primary_storage").first()
        if volume is not None:
            host, path = volume.host, volume.install_path
        else:   # no row: the agent may have made the file before the step stopped
            host, path = _planned_root_volume(ctx)
        if host is not None and path:
            agent.call(host, "/v1/volume/delete", {"path": path})
        if volume is not None:
            volume.delete()
        for key in ("root_volume_uuid", "root_volume_path", "root_volume_format", "root_volume_made"):
            delattr(ctx, key)


def ctx_root_volume(ctx):
    """The root volume's row CreateRootVolume recorded (read once per job run)."""
    volume_uuid = ctx.root_volume_uuid
    return ctx_cached(ctx, ("volume", volume_uuid), lambda: Volume.objects.get(uuid=volume_uuid))


def _planned_root_volume(ctx):
    """(host, path) where CreateRootVolume puts the root volume, from the persisted context alone;
    (None, None) when its host or primary storage is gone or was never chosen."""
    if not ctx.get("primary_storage_uuid"):
        return None, None
    try:
        return ctx_host(ctx), ctx_primary_storage(ctx).volume_path(root_volume_uuid(ctx))
    except (NotFound, PrimaryStorage.DoesNotExist):
        return None, None


def delete_volume(volume):
    """Expunge a volume: its file on the host, its reserved capacity, its image cache reference, its
    row. Idempotent (a second call finds nothing to do)."""
    volume = Volume.objects.filter(pk=volume.pk).select_related("host", "primary_storage").first()
    if volume is None:
        return False
    reaching = space.host_for(volume)
    if reaching is None and volume.primary_storage.is_shared:
        raise InvalidState(f"no connected host mounts primary storage {volume.primary_storage.name}",
                           code="PRIMARY_STORAGE_UNREACHABLE",
                           details={"primary_storage_uuid": str(volume.primary_storage.uuid)})
    if reaching is not None and volume.install_path:
        agent.call(reaching, "/v1/volume/delete", {"path": volume.install_path})
    # the row, its capacity and its image cache reference go together: a worker dying in between
    # cannot leave a reference counted for a volume that is gone
    with transaction.atomic():
        if not Volume.objects.filter(pk=volume.pk).delete()[0]:
            return False
        space.release(volume.primary_storage, volume.host, volume.size)
        shared = volume.primary_storage.is_shared   # one cache per shared storage: no host
        if volume.image_sha256 and (shared or volume.host is not None):
            row = ImageCache.objects.filter(primary_storage=volume.primary_storage,
                                            host=None if shared else volume.host,
                                            sha256=volume.image_sha256).first()
            if row is not None:
                cache.release(row.pk)
    return True


class DeleteRootVolume(RemoteStep, NoRollback):
    """For the VM expunge flow: reads ``root_volume_uuid`` or ``vm_uuid`` (ctx, then args)."""

    def run(self, ctx):
        volumes = Volume.objects.filter(type=VolumeType.ROOT)
        volume_uuid = _value(ctx, "root_volume_uuid")
        volumes = volumes.filter(uuid=volume_uuid) if volume_uuid else volumes.filter(
            vm_instance_uuid=_value(ctx, "vm_uuid"))
        for volume in volumes:
            delete_volume(volume)

"""Data volumes: create, delete to the recycle bin, expunge; and the two storage steps compute's
attach flow runs for a NotInstantiated volume (room on the VM's host's primary storage, then the
file).

Context contract (JSON-able; read from ``ctx`` first, then ``ctx.args``):

reads   volume_uuid; host_uuid (the host whose storage takes the file: the VM's for an attach, the
        one asked for at create); args.primary_storage_uuid (optional: only this one)
writes  space_reserved {"primary_storage_uuid", "host_uuid", "size"}; volume_made {"path", "size",
        "actual_size"}
errors  422 NO_PRIMARY_STORAGE_CAPACITY, 409 PRIMARY_STORAGE_DISABLED / PRIMARY_STORAGE_NOT_REACHABLE,
        agent codes (NOT_ENOUGH_SPACE, HOST_AGENT_UNREACHABLE...)
"""
from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict, InvalidState
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep, ctx_cached, ctx_value
from apps.core.states import EnableState
from apps.infra import agent
from apps.infra.models import Host

from .. import space
from ..errors import NoPrimaryStorageCapacity
from ..models import PrimaryStorage, Volume, VolumeStatus
from .vm_steps import lately_then_fresh


def volume_of(ctx):
    """The volume's row as it is now (never cached across steps that change it: other jobs move
    ``install_path``, so a step that reads its path reads it here)."""
    return Volume.objects.select_related("primary_storage", "host").get(uuid=ctx_value(ctx, "volume_uuid"))


def volume_as_claimed(ctx):
    """The volume as the job's first step read it (size, bus, status at the claim): read once per
    job run; the job holds the volume, so these do not change under it."""
    return ctx_cached(ctx, ("volume", str(ctx_value(ctx, "volume_uuid"))), lambda: volume_of(ctx))


def _row(ctx, model, uuid):
    """A host or primary storage row several steps read (their configuration only), once per job run."""
    return ctx_cached(ctx, (model.__name__, str(uuid)), lambda: model.objects.get(uuid=uuid))


def _usable(ps, host):
    if ps.state != EnableState.ENABLED:
        raise InvalidState(f"primary storage {ps.name} is Disabled", code="PRIMARY_STORAGE_DISABLED",
                           details={"primary_storage_uuid": str(ps.uuid)})
    if not ps.clusters.filter(pk=host.cluster_id).exists():
        raise Conflict(f"primary storage {ps.name} is not attached to the cluster of host {host.name}",
                       code="PRIMARY_STORAGE_NOT_REACHABLE",
                       details={"primary_storage_uuid": str(ps.uuid), "host_uuid": str(host.uuid)})


class ReserveVolumeSpace(DbStep):
    """Room for a NotInstantiated volume: on the primary storage asked for, else on the one of the
    host's cluster with the most room (local storage: on that host)."""

    def run(self, ctx):
        volume = volume_as_claimed(ctx)
        if ctx.get("space_reserved") or volume.status != VolumeStatus.NOT_INSTANTIATED:
            return
        host = _row(ctx, Host, ctx_value(ctx, "host_uuid"))
        only = ctx.args.get("primary_storage_uuid")
        if only:
            ps = _row(ctx, PrimaryStorage, only)
            _usable(ps, host)
            space.reserve(ps, host, volume.size)
        else:
            # each candidate's room is taken by its own conditional UPDATE (no second read of it);
            # False: taken meanwhile by a concurrent reservation, so the next one
            for ps, room in lately_then_fresh(host, volume.size):
                if room.reserve(volume.size):
                    break
            else:
                raise NoPrimaryStorageCapacity(
                    f"no primary storage of host {host.name}'s cluster has {volume.size} bytes free",
                    details={"host_uuid": str(host.uuid), "size": volume.size})
        ctx.space_reserved = {"primary_storage_uuid": str(ps.uuid), "host_uuid": str(host.uuid),
                              "size": volume.size}
        ctx_cached(ctx, (PrimaryStorage.__name__, str(ps.uuid)), lambda: ps)

    def rollback(self, ctx):
        held = ctx.get("space_reserved")
        if held:
            space.release(PrimaryStorage.objects.get(uuid=held["primary_storage_uuid"]),
                          Host.objects.get(uuid=held["host_uuid"]), held["size"])
            del ctx.space_reserved


def _planned(ctx):
    """(primary storage, host, path) of the file InstantiateVolume makes, from the context alone."""
    held = ctx.space_reserved
    ps = _row(ctx, PrimaryStorage, held["primary_storage_uuid"])
    return ps, _row(ctx, Host, held["host_uuid"]), ps.volume_path(ctx_value(ctx, "volume_uuid"), "Data")


class InstantiateVolume(RemoteStep):
    """The agent makes the empty qcow2 file; the row (Ready, with its path) is written with the
    next database steps."""

    def run(self, ctx):
        if ctx.get("volume_made") or not ctx.get("space_reserved"):
            return   # done already, or nothing to make (the volume had its file)
        _ps, host, path = _planned(ctx)
        answer = agent.call(host, "/v1/volume/create", {"path": path, "format": "qcow2",
                                                         "size": ctx.space_reserved["size"]},
                            request_id=f"{ctx.job.uuid}-instantiate-volume")
        ctx.volume_made = {"path": path, "size": int(answer.get("size") or ctx.space_reserved["size"]),
                           "actual_size": int(answer.get("actual_size") or 0)}

    def record(self, ctx):
        made = ctx.get("volume_made")
        if made:
            ps, host, _path = _planned(ctx)
            Volume.objects.filter(uuid=ctx_value(ctx, "volume_uuid"), status=VolumeStatus.NOT_INSTANTIATED).update(
                status=VolumeStatus.READY, install_path=made["path"], actual_size=made["actual_size"],
                primary_storage=ps, host=host, updated_at=timezone.now())

    def rollback(self, ctx):
        if not ctx.get("space_reserved"):
            return
        _ps, host, path = _planned(ctx)
        agent.call(host, "/v1/volume/delete", {"path": path})
        Volume.objects.filter(uuid=ctx_value(ctx, "volume_uuid"), install_path=path).update(
            status=VolumeStatus.NOT_INSTANTIATED, install_path="", actual_size=0, primary_storage=None, host=None)
        if ctx.get("volume_made"):
            del ctx.volume_made


class VolumeCreated(DbStep, NoRollback):
    def run(self, ctx):
        volume = volume_of(ctx)
        ctx.result = {"volume_uuid": str(volume.uuid), "status": volume.status}


class DropFailedVolume(DbStep):
    """First step of a create: when a later step fails, the row the request made goes too."""

    def run(self, ctx):
        pass

    def rollback(self, ctx):
        Volume.objects.filter(uuid=ctx_value(ctx, "volume_uuid"), status=VolumeStatus.NOT_INSTANTIATED,
                              vm_instance_uuid=None).delete()


def mark_deleted(volume_uuid):
    """Into the recycle bin (a detached volume); 409 naming the status when it cannot go."""
    with transaction.atomic(savepoint=False):
        volume = Volume.objects.select_for_update().get(uuid=volume_uuid)
        if volume.vm_instance_uuid is not None:
            raise InvalidState(f"volume {volume.name} is attached to VM {volume.vm_instance_uuid}: detach it first",
                               code="VOLUME_ATTACHED", details={"vm_uuid": str(volume.vm_instance_uuid)})
        if volume.status == VolumeStatus.DELETED:
            return volume
        volume.status, volume.deleted_at = VolumeStatus.DELETED, timezone.now()
        volume.save(update_fields=["status", "deleted_at", "updated_at"])
    return volume


class MarkVolumeDeleted(DbStep):
    def run(self, ctx):
        volume = Volume.objects.get(uuid=ctx_value(ctx, "volume_uuid"))
        ctx.status_before_delete = volume.status
        mark_deleted(volume.uuid)
        ctx.result = {"volume_uuid": str(volume.uuid), "status": VolumeStatus.DELETED}

    def rollback(self, ctx):
        before = ctx.get("status_before_delete")
        if before:
            Volume.objects.filter(uuid=ctx_value(ctx, "volume_uuid"), status=VolumeStatus.DELETED).update(
                status=before, deleted_at=None)


def expunge_volume(volume_uuid, request_id=None):
    """The file (from the host that reaches it), then in one transaction the row and the room it
    held. Idempotent: a second call finds nothing."""
    volume = Volume.objects.filter(uuid=volume_uuid).select_related("host", "primary_storage").first()
    if volume is None:
        return False
    if volume.install_path:
        host = space.host_for(volume)
        if host is None:
            raise Conflict(f"no connected host reaches volume {volume.name}'s file", code="VOLUME_UNREACHABLE",
                           details={"volume_uuid": str(volume.uuid)})
        agent.call(host, "/v1/volume/delete", {"path": volume.install_path}, request_id=request_id)
    with transaction.atomic():
        if not Volume.objects.filter(pk=volume.pk).delete()[0]:
            return False
        if volume.primary_storage_id is not None and volume.install_path:
            space.release(volume.primary_storage, volume.host, volume.size)
    return True


class CheckExpungeable(DbStep, NoRollback):
    def run(self, ctx):
        volume = volume_of(ctx)
        if volume.status != VolumeStatus.DELETED:
            raise InvalidState(f"volume {volume.name} is {volume.status}: only a Deleted volume is expunged",
                               details={"volume_uuid": str(volume.uuid), "status": volume.status})


class ExpungeVolume(RemoteStep, NoRollback):
    def run(self, ctx):
        uuid = ctx_value(ctx, "volume_uuid")
        expunge_volume(uuid, request_id=f"{ctx.job.uuid}-expunge-volume")
        ctx.result = {"volume_uuid": str(uuid), "expunged": True}


# a volume made at once on a primary storage (and host, for local storage)
CREATE_DATA_VOLUME = Flow("create-data-volume", [DropFailedVolume, ReserveVolumeSpace, InstantiateVolume,
                                                 VolumeCreated])
# a volume made when first attached (ZStack's NotInstantiated)
CREATE_NOT_INSTANTIATED_VOLUME = Flow("create-not-instantiated-volume", [VolumeCreated],
                                      action="create-data-volume")
DELETE_DATA_VOLUME = Flow("delete-data-volume", [MarkVolumeDeleted])
DELETE_EXPUNGE_DATA_VOLUME = Flow("delete-expunge-data-volume", [MarkVolumeDeleted, ExpungeVolume],
                                  action="delete-data-volume")
EXPUNGE_DATA_VOLUME = Flow("expunge-data-volume", [CheckExpungeable, ExpungeVolume])


def expunge_due_volumes(now=None):
    """Beat: data volumes deleted more than volume.expungePeriod ago go for good (policy Delay)."""
    from datetime import timedelta

    from apps.core.errors import CloudPortalError
    from apps.core.flows import start_job

    from ..globalconfig import VOLUME_DELETION_POLICY, VOLUME_EXPUNGE_PERIOD

    if VOLUME_DELETION_POLICY.value() != "Delay":
        return {"expunging": 0}
    cutoff = (now or timezone.now()) - timedelta(seconds=VOLUME_EXPUNGE_PERIOD.value())
    started = 0
    for volume in Volume.objects.filter(status=VolumeStatus.DELETED, deleted_at__lt=cutoff,
                                        busy_job__isnull=True)[:500]:
        try:
            start_job(EXPUNGE_DATA_VOLUME, resource=volume, args={"volume_uuid": str(volume.uuid)})
            started += 1
        except CloudPortalError:
            continue   # busy meanwhile: next round
    return {"expunging": started}

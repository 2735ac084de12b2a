"""What the network flows share: how one kind of network resource is made, found, waited for and
deleted in the cloud (a ``RemoteType``), and the steps every create and every delete is made of.

    create:  RecordRow -> CreateInCloud -> WaitReady -> MarkReady
    delete:  BeginDelete -> DeleteInCloud -> DeleteRow

The API makes the row (state Creating, claimed by the job) before the flow runs. What a create
makes carries the row's uuid in its ``cloudportal:uuid`` tag (a route entry, which has no tags,
is known by its table and destination): the create looks for it before making another, and its
rollback finds it even when the worker died before the row got its id. A failure after the create
deletes it in the cloud (waiting until the cloud has let go of it) and the row goes.

Arguments (``ctx.args``): ``row_uuid`` (what a create makes is the row's columns).
"""
import time

from apps.core.flows import DbStep, NoRollback, RemoteStep

from ..cloud import AlibabaError, Cloud, is_not_found
from ..globalconfig import POLL_INTERVAL, WAIT_TIMEOUT
from ..models.network import NetworkState
from ..remote_kinds import PORTAL_TAG
from ..syncing import Sync
from .common import FIRST_POLL, WaitTimedOut, save_state


class RemoteType:
    """One kind of network resource in the cloud, as its flows see it."""

    model = None
    kind = None              # its RemoteKind: how a sync reads an item into the row
    what = ""                # "VPC": how messages name it
    ready = ("Available",)   # statuses it is usable in; (): usable as soon as the cloud lists it
    moving = ("Pending",)    # statuses it leaves on its own: a delete waits for them to end

    @property
    def id_column(self):
        return self.kind.local_key

    def describe(self, cloud, row, remote_id):
        """The cloud's item for ``remote_id`` (the resource of ``row``), or None when it has none."""
        raise NotImplementedError

    def made_for(self, cloud, row):
        """The items a create made for ``row`` (found by their tag)."""
        raise NotImplementedError

    def create(self, cloud, row, tags, token):
        """Make the resource for ``row``; its cloud id. ``tags``: the cloud's ``Tag`` list to send;
        ``token``: the ``ClientToken`` (the job's uuid: the real service makes one resource however
        often the call is sent; the emulator does not keep tokens for these, hence the look by tag)."""
        raise NotImplementedError

    def delete(self, cloud, row, remote_id):
        raise NotImplementedError

    def forget_with(self, row):
        """Delete here what the cloud deleted with the resource (a VPC: its VRouter and its routes)."""

    def status(self, item):
        return item.get("Status") if item else None

    def read_more(self, cloud, row, item):
        """What else the create reads of the cloud once the resource is ready (JSON-able; a VPC:
        its VRouter), for ``finish``."""
        return None

    def finish(self, row, item, more):
        """What a create writes here once the resource is ready, besides its row (a VPC: its VRouter's)."""


def tagged(remote_type, items, row):
    """The items carrying ``row``'s uuid in their ``cloudportal:uuid`` tag (checked here too: a
    filter the cloud ignored would match everything)."""
    return [item for item in items if remote_type.kind.created_by(item) == str(row.uuid)]


def portal_tags(row):
    return [{"Key": PORTAL_TAG, "Value": str(row.uuid)}]


# --- reading the row and its cloud --------------------------------------------------------------
def row_of(ctx, remote_type):
    return remote_type.model.objects.select_related("data_center__access_key").get(uuid=ctx.args["row_uuid"])


def cloud_of(ctx, remote_type):
    return ctx.cached(("cloud", ctx.args["row_uuid"]), lambda: Cloud.of(row_of(ctx, remote_type).data_center))


def remote_id_of(ctx, remote_type):
    return ctx.get("remote_id") or getattr(row_of(ctx, remote_type), remote_type.id_column)


def mirrored(row, remote_type, item):
    """The row's columns as a sync reads ``item`` (without the state: the flow says which it reached)."""
    sync = Sync(row.data_center, None)
    remote_type.kind.prepare(sync)
    values = remote_type.kind.values(item, sync)
    values.pop("state", None)
    return values


def save_fields(remote_type, uuid, event=None, **fields):
    """``save_state`` of the network row ``uuid`` (its kind's model)."""
    return save_state(remote_type.model, uuid, event, **fields)


# --- waiting -----------------------------------------------------------------------------------
def wait_until(ctx, remote_type, cloud, row, remote_id, statuses, what):
    """Poll the resource until its status is one of ``statuses`` (None among them: until it is
    gone; "*": as soon as it exists); the item last seen. Soon at first, then less often, up to
    ``hybrid/ecs.pollInterval`` and ``hybrid/ecs.waitTimeout`` (the ECS flows' settings)."""
    deadline = time.monotonic() + WAIT_TIMEOUT.value()
    pause, longest, seen = FIRST_POLL, POLL_INTERVAL.value(), None
    while True:
        item = remote_type.describe(cloud, row, remote_id)
        status = remote_type.status(item)
        if item is not None and ("*" in statuses or status in statuses):
            return item
        if item is None and None in statuses:
            return None
        if item is None:
            raise AlibabaError(f"{remote_type.what} {remote_id} disappeared while the portal waited for it to be "
                               f"{what}", code="ALIBABA_RESOURCE_GONE", status=409, details={"id": remote_id})
        if status != seen:
            seen = status
            ctx.report_progress(ctx.job.progress or 0, id=remote_id, status=status or "", waiting_for=what)
        if time.monotonic() + pause > deadline:
            raise WaitTimedOut(f"{remote_type.what} {remote_id} was not {what} after {WAIT_TIMEOUT.value()} s "
                               f"(it is {status})", details={"id": remote_id, "status": status, "waiting_for": what})
        time.sleep(pause)
        pause = min(pause * 2, longest)


def delete_remote(ctx, remote_type, cloud, row, remote_id):
    """Delete the resource in the cloud and wait until it is gone; one already gone is fine. One
    on its way (Pending) is waited for first: the cloud refuses to delete it then."""
    item = remote_type.describe(cloud, row, remote_id)
    if item is None:
        return
    if remote_type.status(item) in remote_type.moving:
        wait_until(ctx, remote_type, cloud, row, remote_id, (*remote_type.ready, None), "settled")
    try:
        remote_type.delete(cloud, row, remote_id)
    except AlibabaError as exc:
        if not is_not_found(exc):
            raise
    wait_until(ctx, remote_type, cloud, row, remote_id, (None,), "deleted")


# --- create -------------------------------------------------------------------------------------
class NetworkStep:
    remote_type = None
    pattern = "{}"   # the step's name in a job, of the resource's ("Create{}InCloud": CreateVpcInCloud)

    @classmethod
    def of(cls, remote_type):
        name = cls.pattern.format(type(remote_type).__name__)
        return type(name, (cls,), {"remote_type": remote_type})


class RecordRow(NetworkStep, DbStep):
    """The row exists already (the API made it); a failed create deletes it."""

    pattern = "Record{}"

    def run(self, ctx):
        ctx.row_name = row_of(ctx, self.remote_type).name

    def rollback(self, ctx):
        self.remote_type.model.objects.filter(uuid=ctx.args["row_uuid"]).delete()


class CreateInCloud(NetworkStep, RemoteStep):
    pattern = "Create{}InCloud"

    def run(self, ctx):
        cloud = cloud_of(ctx, self.remote_type)
        row = row_of(ctx, self.remote_type)
        found = self.remote_type.made_for(cloud, row)   # look before you create
        if found:
            ctx.remote_id = found[0][self.remote_type.kind.remote_key]
            return
        ctx.remote_id = self.remote_type.create(cloud, row, portal_tags(row), str(ctx.job.uuid))

    def record(self, ctx):
        if ctx.get("remote_id"):
            save_fields(self.remote_type, ctx.args["row_uuid"], **{self.remote_type.id_column: ctx.remote_id})

    def rollback(self, ctx):
        """Delete what the create made: the id recorded, else whatever carries the row's tag."""
        cloud = cloud_of(ctx, self.remote_type)
        row = row_of(ctx, self.remote_type)
        ids = [ctx.remote_id] if ctx.get("remote_id") else [
            item[self.remote_type.kind.remote_key] for item in self.remote_type.made_for(cloud, row)]
        for remote_id in ids:
            delete_remote(ctx, self.remote_type, cloud, row, remote_id)


class WaitReady(NetworkStep, RemoteStep, NoRollback):
    pattern = "Wait{}Ready"

    def run(self, ctx):
        statuses = self.remote_type.ready or ("*",)
        cloud, row = cloud_of(ctx, self.remote_type), row_of(ctx, self.remote_type)
        ctx.remote = wait_until(ctx, self.remote_type, cloud, row, ctx.remote_id, statuses,
                                "/".join(statuses).replace("*", "listed"))
        ctx.remote_more = self.remote_type.read_more(cloud, row, ctx.remote)


class MarkReady(NetworkStep, DbStep, NoRollback):
    """The row as the cloud describes the resource, Available (an EIP: its own status)."""

    pattern = "Mark{}Ready"

    def run(self, ctx):
        row = row_of(ctx, self.remote_type)
        values = mirrored(row, self.remote_type, ctx.remote)
        save_fields(self.remote_type, row.uuid, "available", **values)
        row.refresh_from_db()
        self.remote_type.finish(row, ctx.remote, ctx.get("remote_more"))
        ctx.result = {"uuid": str(row.uuid), self.remote_type.id_column: ctx.remote_id, "state": row.state}


def create_steps(remote_type, checks=()):
    """The create's steps; ``checks``: steps that look at the cloud before anything is made there."""
    return [RecordRow.of(remote_type), *checks, CreateInCloud.of(remote_type), WaitReady.of(remote_type),
            MarkReady.of(remote_type)]


# --- delete in the cloud, then here -----------------------------------------------------------------
class BeginDelete(NetworkStep, DbStep):
    pattern = "Begin{}Delete"

    def run(self, ctx):
        ctx.state_before = save_fields(self.remote_type, ctx.args["row_uuid"], "deleting")

    def rollback(self, ctx):
        before = ctx.get("state_before")
        if before is not None:
            self.remote_type.model.objects.filter(uuid=ctx.args["row_uuid"], state=NetworkState.DELETING).update(
                state=before)


class DeleteInCloud(NetworkStep, RemoteStep, NoRollback):
    """Delete it in the cloud and wait until it is gone (nothing to do for what the cloud no longer has)."""

    pattern = "Delete{}InCloud"

    def run(self, ctx):
        row = row_of(ctx, self.remote_type)
        remote_id = getattr(row, self.remote_type.id_column)
        if remote_id and ctx.get("state_before") != NetworkState.DELETED:
            delete_remote(ctx, self.remote_type, cloud_of(ctx, self.remote_type), row, remote_id)


class DeleteRow(NetworkStep, DbStep, NoRollback):
    pattern = "Delete{}Row"

    def run(self, ctx):
        row = row_of(ctx, self.remote_type)
        ctx.result = {"uuid": str(row.uuid), self.remote_type.id_column: getattr(row, self.remote_type.id_column),
                      "deleted": True}
        self.remote_type.forget_with(row)
        row.delete()
        ctx.resource_released()


def delete_steps(remote_type):
    return [BeginDelete.of(remote_type), DeleteInCloud.of(remote_type), DeleteRow.of(remote_type)]

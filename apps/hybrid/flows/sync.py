"""A data centre's sync: one step per kind of cloud resource (``remote_kinds.SYNC_ORDER``: zones
first, as instances look theirs up), each mirroring that kind in a transaction of its own. Nothing
to roll back: a sync copies the cloud, and a kind whose listing fails changes nothing.

Arguments: data_center_uuid. Result: what each kind imported, updated, marked deleted.
"""
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..cloud import Cloud
from ..models import AlibabaDataCenter
from ..remote_kinds import SYNC_ORDER
from ..syncing import Sync, sync_kind


def data_center_of(ctx):
    return ctx.cached("data_center", lambda: AlibabaDataCenter.objects.select_related("access_key").get(
        uuid=ctx.args["data_center_uuid"]))


class SyncKind(RemoteStep, NoRollback):
    kind = None

    def run(self, ctx):
        data_center = data_center_of(ctx)
        sync = ctx.cached("sync", lambda: Sync(data_center, Cloud.of(data_center)))
        counts = sync_kind(self.kind, sync)
        setattr(ctx, f"synced_{self.kind.name()}", counts)

    @classmethod
    def of(cls, kind):
        return type(f"Sync{type(kind).__name__}", (cls,), {"kind": kind})


class SyncDone(DbStep, NoRollback):
    def run(self, ctx):
        ctx.result = {"data_center_uuid": ctx.args["data_center_uuid"],
                      "kinds": [ctx.get(f"synced_{kind.name()}") for kind in SYNC_ORDER]}


SYNC_DATA_CENTER = Flow("sync-alibaba-data-center", [*(SyncKind.of(kind) for kind in SYNC_ORDER), SyncDone],
                        action="sync-alibaba-data-center", timeout=3600)

"""A data centre's sync of one kind of cloud resource (``remote_kinds``): the cloud's items against
the rows that mirror them.

- an item no row mirrors is imported (unless a flow is creating it: its tag names a row still
  waiting for its id);
- a row whose columns differ from its item is updated, those columns only (not the kind's
  ``import_only`` ones, which the portal owns once the row is there);
- a row whose item is gone takes the kind's ``Deleted`` state (kept, and shown, until deleted here);
- a row a job holds (``busy_job``) is left to that job, and a row is written under a lock once
  it is seen that no job took it meanwhile;
- nothing is written when nothing changed: no row, no ``updated_at``, no change log.

The cloud is read in full before anything is written, so a listing that fails changes nothing.
"""
import logging

from django.db import transaction

log = logging.getLogger(__name__)


class Sync:
    """One data centre's sync in progress: the cloud, and what the kinds look up (``lookups``)."""

    def __init__(self, data_center, cloud):
        self.data_center = data_center
        self.cloud = cloud
        self.lookups = {}


def _same(current, wanted):
    return current == wanted or (current in (None, "") and wanted in (None, ""))


def _still_free(model, row):
    """Whether no job holds ``row`` now, locking it until the sync's transaction ends: a job that
    wants it (its claim is an UPDATE) waits for the sync's write instead of having it undone."""
    return model.objects.select_for_update().filter(pk=row.pk, busy_job__isnull=True).exists()


def sync_kind(kind, sync):
    """Mirror ``kind``'s items of ``sync.data_center``; the counts of what it did."""
    data_center = sync.data_center
    items = list(kind.list_remote(sync.cloud, data_center))
    kind.prepare(sync)
    model, key_column = kind.model, kind.local_key
    rows, waiting = {}, set()
    for row in model.objects.filter(data_center=data_center):
        if getattr(row, key_column):
            rows[getattr(row, key_column)] = row
        else:
            waiting.add(str(row.uuid))   # made by a create flow that has not recorded its id yet
    counts = {"kind": kind.name(), "imported": 0, "updated": 0, "deleted": 0, "unchanged": 0, "busy": 0}
    seen = set()
    with transaction.atomic():
        for item in items:
            key = item.get(kind.remote_key)
            if not key or key in seen:
                continue
            seen.add(key)
            values = kind.values(item, sync)
            row = rows.get(key)
            if row is None:
                if kind.created_by(item) in waiting:
                    counts["busy"] += 1
                    continue
                rows[key] = model.objects.create(account_id=data_center.account_id, data_center=data_center,
                                                 **{key_column: key}, **values)
                counts["imported"] += 1
                continue
            if row.busy_job:
                counts["busy"] += 1
                continue
            changed = [column for column, value in values.items()
                       if column not in kind.import_only and not _same(getattr(row, column), value)]
            if not changed:
                counts["unchanged"] += 1
                continue
            if not _still_free(model, row):
                counts["busy"] += 1
                continue
            for column in changed:
                setattr(row, column, values[column])
            row.save(update_fields=[*changed, "updated_at"])
            counts["updated"] += 1
        for key, row in rows.items():
            if key in seen or row.busy_job or row.state == kind.deleted_state:
                continue
            if _still_free(model, row):
                row.state = kind.deleted_state
                row.save(update_fields=["state", "updated_at"])
                counts["deleted"] += 1
    log.info("data centre %s: %s synced: %s", data_center.uuid, kind.name(), counts)
    return counts

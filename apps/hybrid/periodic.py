"""The periodic sync of data centres (beat): each is synced ``hybrid/syncInterval`` seconds (its
own, when it has one; 0: never) after its last sync job began, unless a job holds it.

When a data centre was last synced is its sync jobs' to say (``last_sync``): a sync that found
nothing changed writes no row of the data centre."""
from datetime import timedelta

from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from apps.core.errors import CloudPortalError
from apps.core.flows import start_job
from apps.core.models import Job

from .flows import SYNC_DATA_CENTER
from .globalconfig import SYNC_INTERVAL
from .models import AlibabaDataCenter


def last_sync(field):
    """The data centre's latest sync job's ``field`` ("created_at", "finished_at"), as a subquery
    to annotate data centres with (the jobs' resource_uuid index answers it)."""
    return Subquery(Job.objects.filter(resource_uuid=OuterRef("uuid"), flow=SYNC_DATA_CENTER.name)
                    .order_by().values("resource_uuid").annotate(last=Max(field)).values("last")[:1])


def sync_due_data_centers(now=None):
    now = now or timezone.now()
    started = 0
    for data_center in AlibabaDataCenter.objects.filter(busy_job__isnull=True).annotate(
            last_began=last_sync("created_at")):
        interval = SYNC_INTERVAL.value(resource=data_center)
        began = data_center.last_began
        if interval <= 0 or (began is not None and began > now - timedelta(seconds=interval)):
            continue
        try:
            start_job(SYNC_DATA_CENTER, resource=data_center, args={"data_center_uuid": str(data_center.uuid)})
            started += 1
        except CloudPortalError:   # a job took it meanwhile: next round
            continue
    return {"syncing": started}

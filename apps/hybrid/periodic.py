"""The periodic sync of data centres (beat): each is synced ``hybrid/syncInterval`` seconds (its
own, when it has one; 0: never) after its last sync job began, unless a job holds it."""
import logging
from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from apps.core.errors import CloudPortalError
from apps.core.flows import start_job
from apps.core.models import Job

from .flows import SYNC_DATA_CENTER
from .globalconfig import SYNC_INTERVAL
from .models import AlibabaDataCenter

log = logging.getLogger(__name__)


def sync_due_data_centers(now=None):
    now = now or timezone.now()
    last = dict(Job.objects.filter(flow=SYNC_DATA_CENTER.name).values("resource_uuid")
                .annotate(last=Max("created_at")).values_list("resource_uuid", "last"))
    started = 0
    for data_center in AlibabaDataCenter.objects.filter(busy_job__isnull=True):
        interval = SYNC_INTERVAL.value(resource=data_center)
        began = last.get(data_center.uuid)
        if interval <= 0 or (began is not None and began > now - timedelta(seconds=interval)):
            continue
        try:
            start_job(SYNC_DATA_CENTER, resource=data_center, args={"data_center_uuid": str(data_center.uuid)})
            started += 1
        except CloudPortalError:   # a job took it meanwhile: next round
            continue
    return {"syncing": started}

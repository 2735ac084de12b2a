"""Snapshots now count their file on their volume's primary storage (flows/volume_snapshot.py
ReserveSnapshotSpace). Those taken before were never counted: count their ``actual_size`` once
here, so deleting them later gives back what they took and not what others did."""
from django.db import migrations
from django.db.models import F


def _add(apps, sign):
    """Add (1) or take back (-1) every counted snapshot's ``actual_size`` on its storage."""
    VolumeSnapshot = apps.get_model("storage", "VolumeSnapshot")
    PrimaryStorage = apps.get_model("storage", "PrimaryStorage")
    LocalStorageHostRef = apps.get_model("storage", "LocalStorageHostRef")
    rows = VolumeSnapshot.objects.filter(actual_size__gt=0).values_list(
        "actual_size", "volume__primary_storage_id", "volume__primary_storage__type", "volume__host_id")
    for size, ps_id, ps_type, host_id in rows:
        if ps_type == "LocalStorage":
            target = LocalStorageHostRef.objects.filter(primary_storage_id=ps_id, host_id=host_id)
        else:
            target = PrimaryStorage.objects.filter(pk=ps_id)
        if sign < 0:
            target = target.filter(used_capacity__gte=size)
        target.update(used_capacity=F("used_capacity") + sign * size)


def count(apps, schema_editor):
    _add(apps, 1)


def uncount(apps, schema_editor):
    _add(apps, -1)


class Migration(migrations.Migration):
    dependencies = [("storage", "0007_merge_issue_19")]
    operations = [migrations.RunPython(count, uncount)]

"""Snapshots now count their file on their volume's primary storage (flows/volume_snapshot.py
ReserveSnapshotSpace). Those taken before were never counted: count their ``actual_size`` once
here, so deleting them later gives back what they took and not what others did."""
from django.db import migrations
from django.db.models import F


def count(apps, schema_editor):
    VolumeSnapshot = apps.get_model("storage", "VolumeSnapshot")
    PrimaryStorage = apps.get_model("storage", "PrimaryStorage")
    LocalStorageHostRef = apps.get_model("storage", "LocalStorageHostRef")
    rows = VolumeSnapshot.objects.filter(actual_size__gt=0).values_list(
        "actual_size", "volume__primary_storage_id", "volume__primary_storage__type", "volume__host_id")
    for size, ps_id, ps_type, host_id in rows:
        if ps_type == "LocalStorage":
            LocalStorageHostRef.objects.filter(primary_storage_id=ps_id, host_id=host_id).update(
                used_capacity=F("used_capacity") + size)
        else:
            PrimaryStorage.objects.filter(pk=ps_id).update(used_capacity=F("used_capacity") + size)


def uncount(apps, schema_editor):
    VolumeSnapshot = apps.get_model("storage", "VolumeSnapshot")
    PrimaryStorage = apps.get_model("storage", "PrimaryStorage")
    LocalStorageHostRef = apps.get_model("storage", "LocalStorageHostRef")
    rows = VolumeSnapshot.objects.filter(actual_size__gt=0).values_list(
        "actual_size", "volume__primary_storage_id", "volume__primary_storage__type", "volume__host_id")
    for size, ps_id, ps_type, host_id in rows:
        if ps_type == "LocalStorage":
            LocalStorageHostRef.objects.filter(primary_storage_id=ps_id, host_id=host_id,
                                               used_capacity__gte=size).update(used_capacity=F("used_capacity") - size)
        else:
            PrimaryStorage.objects.filter(pk=ps_id, used_capacity__gte=size).update(
                used_capacity=F("used_capacity") - size)


class Migration(migrations.Migration):
    dependencies = [("storage", "0007_merge_issue_19")]
    operations = [migrations.RunPython(count, uncount)]

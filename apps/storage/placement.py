"""Storage's filter in the host allocator's chain (apps.compute.allocator): a host passes when a
primary storage of its cluster has room for the root volume: a local storage on that host (its
``LocalStorageHostRef``) or a shared storage of the cluster (the storage's own row).

The conditions are module-level functions of the request's values, so the allocator compiles one
window query per set of filters. The shared condition uses the largest over-provisioning ratio in
force anywhere (a superset, like the host filters' CPU and memory ratios); the exact ratio is
checked by the conditional UPDATE that reserves the room.
"""
from django.db.models import F, OuterRef, Q

from apps.core.states import EnableState

from .globalconfig import OVER_PROVISIONING
from .models import LocalStorageHostRef, PrimaryStorage, PrimaryStorageType
from .space import SHARED_TYPES


def _max_ratio():
    return max([float(OVER_PROVISIONING.value())] + [float(v) for v in OVER_PROVISIONING.overrides().values()])


def _local_room(values):
    return LocalStorageHostRef.objects.filter(
        host=OuterRef("pk"), primary_storage__state=EnableState.ENABLED, primary_storage__clusters=OuterRef("cluster_id"),
        total_capacity__gte=F("used_capacity") + values["disk"]).as_condition()


def _shared_storages(values):
    return PrimaryStorage.objects.filter(
        clusters=OuterRef("cluster_id"), state=EnableState.ENABLED,
        used_capacity__lte=F("total_capacity") * values["ps_ratio"] - values["disk"])


def has_room_any(values):
    """A local storage on the host or a shared storage of its cluster has ``disk`` bytes free."""
    return Q(_local_room(values)) | Q(_shared_storages(values).filter(type__in=SHARED_TYPES).as_condition())


def has_room_local(values):
    return _local_room(values)


def has_room_shared_of_type(values):
    return _shared_storages(values).filter(type=values["ps_type"]).as_condition()


def room_filter(disk, ps_type=None):
    """``((name, condition, reason), values)`` for ``PlacementSpec.extra_filters``/``extra_values``."""
    values = {"disk": int(disk), "ps_ratio": _max_ratio(), "ps_type": ps_type or ""}
    kind = f" {ps_type}" if ps_type else ""
    reason = f"no host has {disk} bytes free on a{kind} primary storage attached to its cluster"
    if not ps_type:
        condition = has_room_any
    elif ps_type == PrimaryStorageType.LOCAL_STORAGE:
        condition = has_room_local
    else:
        condition = has_room_shared_of_type
    return ("PrimaryStorageCapacity", condition, reason), values

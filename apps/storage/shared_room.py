"""Shared primary storages as the VM create flow's candidates: a ``SharedRoom`` reads like a local
storage's ``LocalStorageHostRef`` (``pk``, ``primary_storage``, ``available_capacity``,
``reserve(size)``), so AllocatePrimaryStorage weighs both kinds in one list."""
from apps.core.states import EnableState

from . import space
from .models import PrimaryStorage


class SharedRoom:
    __slots__ = ("primary_storage", "available_capacity")

    def __init__(self, primary_storage):
        self.primary_storage = primary_storage
        self.available_capacity = space.available(primary_storage)

    @property
    def pk(self):
        return self.primary_storage.pk

    def reserve(self, size):
        """One conditional UPDATE on the storage's row (total × ratio checked in SQL); bool."""
        return space.take_shared(self.primary_storage, int(size))

    def release(self, size):
        space.give_back_shared(self.primary_storage.pk, int(size))


def rooms(host, only=None, ps_type=None):
    """The Enabled shared storages attached to ``host``'s cluster (``only``: that uuid; ``ps_type``:
    that type), as rooms."""
    storages = PrimaryStorage.objects.filter(clusters=host.cluster_id, state=EnableState.ENABLED,
                                             type__in=[ps_type] if ps_type else space.SHARED_TYPES)
    if only:
        storages = storages.filter(uuid=only)
    return [SharedRoom(ps) for ps in storages]

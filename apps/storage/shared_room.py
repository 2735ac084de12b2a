"""Shared primary storages as the VM create flow's candidates: a ``SharedRoom`` reads like a local
storage's ``LocalStorageHostRef`` (``pk``, ``primary_storage``, ``available_capacity``,
``reserve(size)``), so AllocatePrimaryStorage weighs both kinds in one list."""
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


def rooms(host, only=None, ps_type=None, fresh=True):
    """The Enabled shared storages attached to ``host``'s cluster (``only``: that uuid; ``ps_type``:
    that type), as rooms. Not ``fresh``: as read less than a second ago (their figures too), for a
    caller whose reservation checks the room in SQL."""
    types = (ps_type,) if ps_type else tuple(space.SHARED_TYPES)
    query = PrimaryStorage.objects.shared_of_cluster if fresh else PrimaryStorage.objects.kept_shared_of_cluster
    return [SharedRoom(ps) for ps in query(host.cluster_id, types, str(only) if only else None)]

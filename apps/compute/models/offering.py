"""Instance offerings: named CPU/memory sizes a VM is created from (ZStack's InstanceOfferingVO)."""
from django.db import models

from apps.core.models import Resource
from apps.core.states import ENABLE_STATE_MACHINE, EnableState


class AllocatorStrategy(models.TextChoices):
    """How the allocator picks one host among those that pass every filter (ZStack's names)."""

    RANDOM = "DefaultHostAllocatorStrategy"
    LEAST_VM = "LeastVmPreferredHostAllocatorStrategy"
    LAST_HOST = "LastHostPreferredAllocatorStrategy"


class InstanceOffering(Resource):
    cpu_num = models.PositiveIntegerField()
    memory_size = models.BigIntegerField(help_text="bytes")
    cpu_speed = models.PositiveIntegerField(default=0, help_text="MHz, informational")
    allocator_strategy = models.CharField(max_length=64, choices=AllocatorStrategy.choices,
                                          default=AllocatorStrategy.RANDOM)
    sort_key = models.IntegerField(default=0)
    type = models.CharField(max_length=32, default="UserVm")
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    # the type of primary storage its VMs' root volumes go to (LocalStorage, SharedMountPoint, NFS;
    # empty: any); a create request's own primary_storage_type wins
    primary_storage_type = models.CharField(max_length=32, blank=True, default="")
    state_machine = ENABLE_STATE_MACHINE

    class Meta(Resource.Meta):
        pass

    class Query:
        fields = ["uuid", "name", "description", "cpu_num", "memory_size", "cpu_speed", "allocator_strategy",
                  "sort_key", "type", "state", "created_at", "updated_at"]

"""Disk offerings (ZStack's DiskOfferingVO): a named size a data volume is created from.

Admins make them; every account reads them. A Disabled offering makes no new volumes; the volumes
made from it keep a reference (``Volume.disk_offering``) that survives its deletion as null."""
from django.db import models

from apps.core.models import Resource
from apps.core.states import ENABLE_STATE_MACHINE, EnableState


class DiskOffering(Resource):
    disk_size = models.BigIntegerField(help_text="bytes")
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)

    state_machine = ENABLE_STATE_MACHINE

    class Query:
        fields = ["uuid", "name", "description", "disk_size", "state", "created_at", "updated_at"]

from apps.core.models import Resource
from apps.core.states import ENABLE_STATE_MACHINE, EnableState
from django.db import models


class Zone(Resource):
    """A data centre or an isolated part of one; the root of the infrastructure tree."""

    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    state_machine = ENABLE_STATE_MACHINE

    class Meta(Resource.Meta):
        db_table = "compute_zone"   # the name it had before zones moved out of compute

    class Query:
        fields = ["uuid", "name", "description", "state", "created_at", "updated_at"]
        relations = ["clusters"]

from apps.core.models import Resource
from apps.core.states import ENABLE_STATE_MACHINE, EnableState
from django.db import models


class HypervisorType(models.TextChoices):
    KVM = "KVM"
    SIMULATOR = "Simulator"


class Cluster(Resource):
    """A group of hosts of one hypervisor type in one zone."""

    zone = models.ForeignKey("infra.Zone", on_delete=models.PROTECT, related_name="clusters")
    hypervisor_type = models.CharField(max_length=16, choices=HypervisorType.choices, default=HypervisorType.KVM)
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    state_machine = ENABLE_STATE_MACHINE

    class Meta(Resource.Meta):
        db_table = "compute_cluster"   # the name it had before clusters moved out of compute

    class Query:
        fields = ["uuid", "name", "description", "state", "hypervisor_type", "zone_uuid", "created_at", "updated_at"]
        aliases = {"zone_uuid": "zone__uuid"}
        relations = ["zone"]

    def config_parent(self):
        return self.zone

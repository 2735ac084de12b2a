"""L2 networks: a broadcast domain reached through a physical interface of each host."""
from django.db import models

from apps.core.models import Resource


class L2NetworkType(models.TextChoices):
    NO_VLAN = "NoVlan"


class L2Network(Resource):
    """ZStack's L2NoVlanNetwork: on every connected host of an attached cluster, the agent makes a
    Linux bridge ``br_<physical_interface>`` with the interface as its port."""

    zone = models.ForeignKey("compute.Zone", on_delete=models.PROTECT, related_name="l2_networks")
    type = models.CharField(max_length=16, choices=L2NetworkType.choices, default=L2NetworkType.NO_VLAN)
    physical_interface = models.CharField(max_length=15)
    clusters = models.ManyToManyField("compute.Cluster", related_name="l2_networks", blank=True)

    class Meta(Resource.Meta):
        pass

    class Query:
        fields = ["uuid", "name", "description", "type", "physical_interface", "zone_uuid", "created_at",
                  "updated_at"]
        aliases = {"zone_uuid": "zone__uuid"}
        relations = ["zone", "clusters", "l3_networks"]

    @property
    def bridge_name(self):
        """ZStack's naming: br_ + the interface, dots as underscores (br_eth0, br_eth0_100)."""
        return "br_" + self.physical_interface.replace(".", "_")

    def config_parent(self):
        return self.zone

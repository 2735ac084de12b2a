"""L2 networks: a broadcast domain reached through a physical interface of each host."""
from django.db import models

from apps.core.models import Resource, ResourceQuerySet, compiled, kept


class L2NetworkType(models.TextChoices):
    NO_VLAN = "NoVlan"


class L2NetworkQuerySet(ResourceQuerySet):
    @compiled
    def cluster_links(self, l2_id):
        """The L2's rows of its many-to-many table with clusters."""
        return L2Network.clusters.through.objects.filter(l2network_id=l2_id)

    @kept(invalidated_by=["network.L2Network", "network.L2Network.clusters", "infra.Cluster"])
    def kept_cluster_ids(self, l2_id):
        """Primary keys of the clusters the L2 is attached to, as read up to a second ago."""
        return frozenset(link.cluster_id for link in self.cluster_links(l2_id))


class L2Network(Resource):
    """ZStack's L2NoVlanNetwork: on every connected host of an attached cluster, the agent makes a
    Linux bridge ``br_<physical_interface>`` with the interface as its port."""

    zone = models.ForeignKey("infra.Zone", on_delete=models.PROTECT, related_name="l2_networks")
    type = models.CharField(max_length=16, choices=L2NetworkType.choices, default=L2NetworkType.NO_VLAN)
    physical_interface = models.CharField(max_length=15)
    clusters = models.ManyToManyField("infra.Cluster", related_name="l2_networks", blank=True)

    objects = L2NetworkQuerySet.as_manager()

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

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import ResourceSerializer
from rest_framework import serializers

from .models import Cluster, Zone


class ZoneSerializer(ResourceSerializer):
    class Meta(ResourceSerializer.Meta):
        model = Zone
        fields = ResourceSerializer.Meta.fields + ["state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]


class ClusterSerializer(ResourceSerializer):
    zone_uuid = UuidRelatedField(source="zone", queryset=Zone.objects.all())
    hypervisor_type = serializers.ChoiceField(choices=Cluster._meta.get_field("hypervisor_type").choices)

    class Meta(ResourceSerializer.Meta):
        model = Cluster
        fields = ResourceSerializer.Meta.fields + ["zone_uuid", "hypervisor_type", "state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # a cluster does not move between zones or change type
            fields["zone_uuid"].read_only = True
            fields["hypervisor_type"].read_only = True
        return fields

"""The mappings a VM create placed in an Alibaba Cloud zone goes through (models/oneview.py): a
local image to an ECS image and an instance offering to an instance type per data centre, an L3
network to a vSwitch and a security group per identity zone."""
from rest_framework import serializers

from apps.compute.models import InstanceOffering
from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import ResourceSerializer
from apps.network.models import L3Network
from apps.storage.models import Image

from .models import AlibabaDataCenter, AlibabaIdentityZone, EcsImageMapping, EcsNetworkMapping, EcsOfferingMapping


class MappingSerializer(ResourceSerializer):
    """A mapping belongs to the account of the data centre it is about."""

    account_uuid = serializers.UUIDField(source="account.uuid", read_only=True)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def owner(self, data):
        raise NotImplementedError

    def create(self, validated_data):
        validated_data["account_id"] = self.owner(validated_data).account_id
        return super().create(validated_data)


def _unique(model, message, **match):
    if model.objects.filter(**match).exists():
        raise serializers.ValidationError({"non_field_errors": [message]})


class EcsImageMappingSerializer(MappingSerializer):
    data_center_uuid = UuidRelatedField(source="data_center", queryset=AlibabaDataCenter.objects.all())
    image_uuid = UuidRelatedField(source="image", queryset=Image.objects.all())
    ecs_image_id = serializers.CharField(max_length=128, help_text="the ECS image id in the data centre's region")

    class Meta(ResourceSerializer.Meta):
        model = EcsImageMapping
        fields = ResourceSerializer.Meta.fields + ["data_center_uuid", "image_uuid", "ecs_image_id", "account_uuid"]

    def owner(self, data):
        return data["data_center"]

    def validate(self, data):
        if self.instance is None:
            _unique(EcsImageMapping, "this image is mapped in this data centre already",
                    data_center=data["data_center"], image=data["image"])
        return data


class EcsOfferingMappingSerializer(MappingSerializer):
    data_center_uuid = UuidRelatedField(source="data_center", queryset=AlibabaDataCenter.objects.all())
    instance_offering_uuid = UuidRelatedField(source="instance_offering", queryset=InstanceOffering.objects.all())
    instance_type = serializers.CharField(max_length=64, help_text="e.g. ecs.g7.large")

    class Meta(ResourceSerializer.Meta):
        model = EcsOfferingMapping
        fields = ResourceSerializer.Meta.fields + ["data_center_uuid", "instance_offering_uuid", "instance_type",
                                                   "account_uuid"]

    def owner(self, data):
        return data["data_center"]

    def validate(self, data):
        if self.instance is None:
            _unique(EcsOfferingMapping, "this offering is mapped in this data centre already",
                    data_center=data["data_center"], instance_offering=data["instance_offering"])
        return data


class EcsNetworkMappingSerializer(MappingSerializer):
    identity_zone_uuid = UuidRelatedField(source="identity_zone", queryset=AlibabaIdentityZone.objects.all())
    l3_network_uuid = UuidRelatedField(source="l3_network", queryset=L3Network.objects.all())
    v_switch_id = serializers.CharField(max_length=64, help_text="a vSwitch of the identity zone")
    security_group_id = serializers.CharField(max_length=64, help_text="a security group of the vSwitch's VPC")

    class Meta(ResourceSerializer.Meta):
        model = EcsNetworkMapping
        fields = ResourceSerializer.Meta.fields + ["identity_zone_uuid", "l3_network_uuid", "v_switch_id",
                                                   "security_group_id", "account_uuid"]

    def owner(self, data):
        return data["identity_zone"]

    def validate(self, data):
        if self.instance is None:
            _unique(EcsNetworkMapping, "this L3 network is mapped in this identity zone already",
                    identity_zone=data["identity_zone"], l3_network=data["l3_network"])
        return data

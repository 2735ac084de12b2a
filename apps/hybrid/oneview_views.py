"""/ecs-image-mappings/, /ecs-offering-mappings/, /ecs-network-mappings/: what a VM create placed in
an Alibaba Cloud zone is mapped to (quick, local: 201/200)."""
from apps.core.api.viewsets import ResourceViewSet

from . import oneview_serializers as s
from .models import EcsImageMapping, EcsNetworkMapping, EcsOfferingMapping


class EcsImageMappingViewSet(ResourceViewSet):
    queryset = EcsImageMapping.objects.select_related("data_center", "image", "account")
    serializer_class = s.EcsImageMappingSerializer


class EcsOfferingMappingViewSet(ResourceViewSet):
    queryset = EcsOfferingMapping.objects.select_related("data_center", "instance_offering", "account")
    serializer_class = s.EcsOfferingMappingSerializer


class EcsNetworkMappingViewSet(ResourceViewSet):
    queryset = EcsNetworkMapping.objects.select_related("identity_zone", "l3_network", "account")
    serializer_class = s.EcsNetworkMappingSerializer

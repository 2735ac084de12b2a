"""Console pages of the mappings a VM create placed in an Alibaba Cloud zone goes through (an
image, an offering, an L3 network to the cloud's; docs/hybrid.md "One view of local and cloud VMs")."""
from django.utils.translation import gettext_lazy as _

from apps.core.ui import Action, ResourcePages

from .oneview_views import EcsImageMappingViewSet, EcsNetworkMappingViewSet, EcsOfferingMappingViewSet

HYBRID = _("Hybrid cloud")   # ui.py's menu group (ui.py imports this module: not the other way)
MAPPING_LABELS = {"data_center_uuid": _("Data centre"), "identity_zone_uuid": _("Identity zone"),
                  "instance_type": _("Instance type"), "v_switch_id": _("vSwitch"),
                  "security_group_id": _("Security group"), "image_uuid": _("Image"), "ecs_image_id": _("ECS image ID"),
                  "instance_offering_uuid": _("Instance offering"), "l3_network_uuid": _("L3 network")}


class EcsImageMappingPages(ResourcePages):
    viewset = EcsImageMappingViewSet
    basename = "ecs-image-mappings"
    menu = (HYBRID, _("Image mappings"))
    order = 74
    columns = ["name", "image_uuid", "ecs_image_id", "data_center_uuid", "created_at"]
    fields = ["name", "description", "data_center_uuid", "image_uuid", "ecs_image_id"]
    edit_fields = ["name", "description", "ecs_image_id"]
    actions = [Action("delete", destructive=True)]
    labels = MAPPING_LABELS
    search_example = "ecs_image_id~=aliyun%"


class EcsOfferingMappingPages(ResourcePages):
    viewset = EcsOfferingMappingViewSet
    basename = "ecs-offering-mappings"
    menu = (HYBRID, _("Offering mappings"))
    order = 75
    columns = ["name", "instance_offering_uuid", "instance_type", "data_center_uuid", "created_at"]
    fields = ["name", "description", "data_center_uuid", "instance_offering_uuid", "instance_type"]
    edit_fields = ["name", "description", "instance_type"]
    actions = [Action("delete", destructive=True)]
    labels = MAPPING_LABELS
    search_example = "instance_type=ecs.g7.large"


class EcsNetworkMappingPages(ResourcePages):
    viewset = EcsNetworkMappingViewSet
    basename = "ecs-network-mappings"
    menu = (HYBRID, _("Network mappings"))
    order = 76
    columns = ["name", "l3_network_uuid", "identity_zone_uuid", "v_switch_id", "security_group_id", "created_at"]
    fields = ["name", "description", "identity_zone_uuid", "l3_network_uuid", "v_switch_id", "security_group_id"]
    edit_fields = ["name", "description", "v_switch_id", "security_group_id"]
    actions = [Action("delete", destructive=True)]
    labels = MAPPING_LABELS
    search_example = "v_switch_id~=vsw-%"

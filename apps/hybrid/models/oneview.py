"""What a VM create placed in an Alibaba Cloud zone is mapped to (H12, "one view"): the admin
declares, per data centre, which ECS image stands for a local image and which instance type for
an instance offering, and per identity zone which vSwitch and security group stand for a local L3
network. An explicit mapping rather than a guess (the nearest instance type by CPU and memory):
instance families of one size differ in price and kind (g7, c7, r7...), and a create should make
what the admin chose, the same every time (docs/hybrid.md, "One view of local and cloud VMs")."""
from django.db import models

from apps.core.models import Resource


class EcsImageMapping(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey("storage.Image", on_delete=models.CASCADE, related_name="+")
    ecs_image_id = models.CharField(max_length=128, help_text="the ECS image in the data centre's region")

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "image"], name="ecs_image_mapping_once")]

    class Query:
        fields = ["uuid", "name", "ecs_image_id", "data_center_uuid", "image_uuid", "account_uuid", "created_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "image_uuid": "image__uuid",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "account"]


class EcsOfferingMapping(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.CASCADE, related_name="+")
    instance_offering = models.ForeignKey("compute.InstanceOffering", on_delete=models.CASCADE, related_name="+")
    instance_type = models.CharField(max_length=64, help_text="e.g. ecs.g7.large")

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "instance_offering"],
                                               name="ecs_offering_mapping_once")]

    class Query:
        fields = ["uuid", "name", "instance_type", "data_center_uuid", "instance_offering_uuid", "account_uuid",
                  "created_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "instance_offering_uuid": "instance_offering__uuid",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "account"]


class EcsNetworkMapping(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    identity_zone = models.ForeignKey("hybrid.AlibabaIdentityZone", on_delete=models.CASCADE, related_name="+")
    l3_network = models.ForeignKey("network.L3Network", on_delete=models.CASCADE, related_name="+")
    v_switch_id = models.CharField(max_length=64)
    security_group_id = models.CharField(max_length=64)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["identity_zone", "l3_network"],
                                               name="ecs_network_mapping_once")]

    class Query:
        fields = ["uuid", "name", "v_switch_id", "security_group_id", "identity_zone_uuid", "l3_network_uuid",
                  "account_uuid", "created_at"]
        aliases = {"identity_zone_uuid": "identity_zone__uuid", "l3_network_uuid": "l3_network__uuid",
                   "account_uuid": "account__uuid"}
        relations = ["identity_zone", "account"]

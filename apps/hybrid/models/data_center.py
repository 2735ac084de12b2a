"""Alibaba Cloud regions added as data centres, and their identity zones (H2, H11).

A data centre is one region seen through one AccessKey; what a sync finds below it (zones,
instances, and the other kinds in ``remote_kinds``) is mirrored in rows that point at it. Deleting
it deletes those rows only: nothing is deleted in the cloud.
"""
from django.db import models

from apps.core.models import Resource


class RemoteState(models.TextChoices):
    """What a sync says of a mirrored row that is not an ECS instance (a zone): there, or gone."""

    AVAILABLE = "Available"
    DELETED = "Deleted"   # gone in the cloud; kept (and shown) until deleted here


class AlibabaDataCenter(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="alibaba_data_centers")
    access_key = models.ForeignKey("hybrid.AlibabaAccessKey", on_delete=models.PROTECT, related_name="data_centers")
    region_id = models.CharField(max_length=64)
    local_name = models.CharField(max_length=128, blank=True, default="")
    # the site's time zone (an IANA name): the console shows the cloud's times of this site in it
    time_zone = models.CharField(max_length=64, default="UTC")

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["access_key", "region_id"], name="alibaba_region_once")]

    class Query:
        fields = ["uuid", "name", "description", "region_id", "local_name", "time_zone", "access_key_uuid",
                  "account_uuid", "created_at", "updated_at"]
        aliases = {"access_key_uuid": "access_key__uuid", "account_uuid": "account__uuid"}
        relations = ["access_key", "account", "identity_zones", "ecs_instances"]


class AlibabaIdentityZone(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey(AlibabaDataCenter, on_delete=models.PROTECT, related_name="identity_zones")
    zone_id = models.CharField(max_length=64)
    local_name = models.CharField(max_length=128, blank=True, default="")
    available_instance_types = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=16, choices=RemoteState.choices, default=RemoteState.AVAILABLE)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "zone_id"], name="alibaba_zone_once")]

    class Query:
        fields = ["uuid", "name", "zone_id", "local_name", "state", "data_center_uuid", "account_uuid", "created_at",
                  "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "account_uuid": "account__uuid"}
        relations = ["data_center", "account"]

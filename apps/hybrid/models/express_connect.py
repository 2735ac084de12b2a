"""Express Connect (H8): the account's virtual border routers (VBRs: the cloud's end of a leased
line into an on-premises data centre) and router interfaces (the two ends of a link between a VBR
and a VPC's VRouter, or between two VRouters).

No API creates a VBR (a carrier lays the circuit), so they are only synced. Router interfaces are
synced too, and made in pairs by the quick create of a VBR-VPC link (``flows/links_express.py``).
``state`` is the cloud's ``Status`` as last seen (VBRs: active, terminated...; interfaces: Idle,
Connecting, Active, Inactive...), or ``Deleted`` once a sync no longer finds the resource.
VPCs are referred to by their cloud ids (``vpc_id``, the VRouter's ``router_id``): the VPC rows
of the hybrid app are another part's, and the cloud ids are what the link's calls need.
"""
from django.db import models

from apps.core.models import Resource

DELETED = "Deleted"   # gone in the cloud; kept (and shown) until deleted here


class VirtualBorderRouter(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT,
                                    related_name="virtual_border_routers")
    vbr_id = models.CharField(max_length=64)
    state = models.CharField(max_length=32, default="active")
    access_point_id = models.CharField(max_length=64, blank=True, default="")
    physical_connection_id = models.CharField(max_length=64, blank=True, default="")
    circuit_code = models.CharField(max_length=128, blank=True, default="")
    vlan_id = models.IntegerField(default=0)
    local_gateway_ip = models.CharField(max_length=64, blank=True, default="")
    peer_gateway_ip = models.CharField(max_length=64, blank=True, default="")
    peering_subnet_mask = models.CharField(max_length=64, blank=True, default="")
    route_table_id = models.CharField(max_length=64, blank=True, default="")
    bandwidth = models.IntegerField(default=0, help_text="Mbit/s")
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "vbr_id"], name="alibaba_vbr_once")]

    class Query:
        fields = ["uuid", "name", "description", "vbr_id", "state", "access_point_id", "physical_connection_id",
                  "vlan_id", "route_table_id", "bandwidth", "data_center_uuid", "region_id", "account_uuid",
                  "remote_created_at", "created_at", "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "router_interfaces"]


class RouterInterface(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT,
                                    related_name="router_interfaces")
    router_interface_id = models.CharField(max_length=64)
    state = models.CharField(max_length=32, default="Idle")
    role = models.CharField(max_length=32, blank=True, default="", help_text="InitiatingSide or AcceptingSide")
    router_type = models.CharField(max_length=16, blank=True, default="", help_text="VBR or VRouter")
    router_id = models.CharField(max_length=64, blank=True, default="")
    # the VBR row when ``router_id`` is one this portal mirrors
    virtual_border_router = models.ForeignKey(VirtualBorderRouter, null=True, blank=True, on_delete=models.SET_NULL,
                                              related_name="router_interfaces")
    spec = models.CharField(max_length=32, blank=True, default="")
    bandwidth = models.IntegerField(default=0, help_text="Mbit/s")
    vpc_id = models.CharField(max_length=64, blank=True, default="", help_text="the VPC of a VRouter end")
    access_point_id = models.CharField(max_length=64, blank=True, default="")
    opposite_interface_id = models.CharField(max_length=64, blank=True, default="")
    opposite_router_id = models.CharField(max_length=64, blank=True, default="")
    opposite_router_type = models.CharField(max_length=16, blank=True, default="")
    opposite_region_id = models.CharField(max_length=64, blank=True, default="")
    opposite_vpc_id = models.CharField(max_length=64, blank=True, default="")
    connected_at = models.DateTimeField(null=True, blank=True)
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "router_interface_id"],
                                               name="alibaba_router_interface_once")]

    class Query:
        fields = ["uuid", "name", "description", "router_interface_id", "state", "role", "router_type", "router_id",
                  "spec", "bandwidth", "vpc_id", "opposite_interface_id", "opposite_router_id",
                  "opposite_router_type", "opposite_vpc_id", "virtual_border_router_uuid", "data_center_uuid",
                  "region_id", "account_uuid", "connected_at", "remote_created_at", "created_at", "updated_at"]
        aliases = {"virtual_border_router_uuid": "virtual_border_router__uuid",
                   "data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "virtual_border_router"]

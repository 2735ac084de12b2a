"""Alibaba Cloud networking mirrored below a data centre: security groups and their rules, EIPs (H4),
VPCs, vSwitches, VRouters and route entries (H7).

``state`` is the cloud's ``Status`` where it has one (Pending, Available; an EIP's InUse,
Associating, Unassociating), ``Available`` for what has none (a security group, a VRouter), the
portal's own ``Creating``/``Deleting`` while a flow does that, and ``Deleted`` for what a sync no
longer found in the cloud (kept, and shown, until deleted here).
"""
from django.db import models

from apps.core.models import Resource
from apps.core.states import StateMachine


class NetworkState(models.TextChoices):
    CREATING = "Creating"
    PENDING = "Pending"
    AVAILABLE = "Available"
    ASSOCIATING = "Associating"     # EIPs only
    IN_USE = "InUse"
    UNASSOCIATING = "Unassociating"
    DELETING = "Deleting"
    DELETED = "Deleted"


S = NetworkState
_T = {}


def _allow(states, event, to=None):
    for state in states:
        _T[(state, event)] = to or state


_allow((S.CREATING, S.PENDING, S.AVAILABLE), "available", S.AVAILABLE)
# what a sync found gone (Deleted) is deleted in the cloud without a call
_allow((S.AVAILABLE, S.DELETED), "deleting", S.DELETING)
_allow((S.AVAILABLE,), "associating", S.ASSOCIATING)
_allow((S.ASSOCIATING, S.IN_USE), "in-use", S.IN_USE)
_allow((S.IN_USE,), "unassociating", S.UNASSOCIATING)
_allow((S.UNASSOCIATING,), "available", S.AVAILABLE)
# changes that keep the state (a security group's rules)
_allow((S.AVAILABLE,), "changing-rules")

NETWORK_ACTIONS = {"delete": "deleting", "release": "deleting", "associate": "associating",
                   "disassociate": "unassociating",
                   "add-rule": "changing-rules", "remove-rule": "changing-rules"}
NETWORK_STATE_MACHINE = StateMachine("cloud network resource", _T, actions=NETWORK_ACTIONS)


class NetworkResource(Resource):
    """What every mirrored network resource has: its account, data centre and state."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=NetworkState.choices, default=NetworkState.CREATING)
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False
    state_machine = NETWORK_STATE_MACHINE

    class Meta(Resource.Meta):
        abstract = True


_COMMON = ["uuid", "name", "description", "state", "data_center_uuid", "region_id", "account_uuid",
           "remote_created_at", "created_at", "updated_at"]
_ALIASES = {"data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
            "account_uuid": "account__uuid"}


class AlibabaVpc(NetworkResource):
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="vpcs")
    vpc_id = models.CharField(max_length=64, null=True, blank=True)   # empty until CreateVpc answered
    cidr_block = models.CharField(max_length=64)
    v_router_id = models.CharField(max_length=64, blank=True, default="")
    is_default = models.BooleanField(default=False)

    class Meta(NetworkResource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "vpc_id"], name="alibaba_vpc_once")]

    class Query:
        fields = _COMMON + ["vpc_id", "cidr_block", "v_router_id", "is_default"]
        aliases = _ALIASES
        relations = ["data_center", "account", "v_switches", "v_routers", "security_groups"]


class AlibabaVSwitch(NetworkResource):
    # ``vpc_id`` is the cloud's id; ``parent_vpc`` its row here, when a sync or a create found it
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="v_switches")
    v_switch_id = models.CharField(max_length=64, null=True, blank=True)
    parent_vpc = models.ForeignKey(AlibabaVpc, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="v_switches")
    vpc_id = models.CharField(max_length=64, blank=True, default="")
    identity_zone = models.ForeignKey("hybrid.AlibabaIdentityZone", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="v_switches")
    cidr_block = models.CharField(max_length=64)
    available_ip_address_count = models.IntegerField(default=0)

    class Meta(NetworkResource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "v_switch_id"], name="alibaba_vswitch_once")]

    class Query:
        fields = _COMMON + ["v_switch_id", "vpc_id", "vpc_uuid", "zone_id", "identity_zone_uuid", "cidr_block",
                            "available_ip_address_count"]
        aliases = {**_ALIASES, "vpc_uuid": "parent_vpc__uuid", "zone_id": "identity_zone__zone_id",
                   "identity_zone_uuid": "identity_zone__uuid"}
        relations = ["data_center", "account", "parent_vpc", "identity_zone"]


class AlibabaVRouter(NetworkResource):
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="v_routers")
    v_router_id = models.CharField(max_length=64)
    parent_vpc = models.ForeignKey(AlibabaVpc, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="v_routers")
    vpc_id = models.CharField(max_length=64, blank=True, default="")
    route_table_ids = models.JSONField(default=list, blank=True)

    class Meta(NetworkResource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "v_router_id"], name="alibaba_vrouter_once")]

    class Query:
        fields = _COMMON + ["v_router_id", "vpc_id", "vpc_uuid"]
        aliases = {**_ALIASES, "vpc_uuid": "parent_vpc__uuid"}
        relations = ["data_center", "account", "parent_vpc", "route_entries"]


class AlibabaRouteEntry(NetworkResource):
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT,
                                    related_name="route_entries")
    route_entry_id = models.CharField(max_length=64, null=True, blank=True)
    v_router = models.ForeignKey(AlibabaVRouter, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="route_entries")
    route_table_id = models.CharField(max_length=64)
    destination_cidr_block = models.CharField(max_length=64)
    next_hop_type = models.CharField(max_length=32, blank=True, default="")
    next_hop_id = models.CharField(max_length=64, blank=True, default="")
    # System (the cloud's own: the service range, one per vSwitch) or Custom (made by a user)
    entry_type = models.CharField(max_length=16, default="Custom")

    class Meta(NetworkResource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "route_entry_id"],
                                               name="alibaba_route_entry_once")]

    class Query:
        fields = _COMMON + ["route_entry_id", "route_table_id", "destination_cidr_block", "next_hop_type",
                            "next_hop_id", "entry_type", "v_router_uuid", "v_router_id"]
        aliases = {**_ALIASES, "v_router_uuid": "v_router__uuid", "v_router_id": "v_router__v_router_id"}
        relations = ["data_center", "account", "v_router"]


class AlibabaSecurityGroup(NetworkResource):
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT,
                                    related_name="security_groups")
    security_group_id = models.CharField(max_length=64, null=True, blank=True)
    parent_vpc = models.ForeignKey(AlibabaVpc, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="security_groups")
    vpc_id = models.CharField(max_length=64, blank=True, default="")
    security_group_type = models.CharField(max_length=16, default="normal")
    # the rules as the cloud describes them (``rules.rule_values``), ingress and egress
    rules = models.JSONField(default=list, blank=True)

    class Meta(NetworkResource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "security_group_id"],
                                               name="alibaba_security_group_once")]

    class Query:
        fields = _COMMON + ["security_group_id", "vpc_id", "vpc_uuid", "security_group_type"]
        aliases = {**_ALIASES, "vpc_uuid": "parent_vpc__uuid"}
        relations = ["data_center", "account", "parent_vpc"]


class AlibabaEip(NetworkResource):
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="eips")
    allocation_id = models.CharField(max_length=64, null=True, blank=True)
    ip_address = models.CharField(max_length=64, blank=True, default="")
    bandwidth = models.IntegerField(default=5, help_text="Mbit/s")
    internet_charge_type = models.CharField(max_length=32, default="PayByTraffic")
    instance_charge_type = models.CharField(max_length=16, default="PostPaid")
    # the ECS instance it is associated with (the cloud's id, and its row here when there is one)
    instance_id = models.CharField(max_length=64, blank=True, default="")
    ecs_instance = models.ForeignKey("hybrid.EcsInstance", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="eips")

    class Meta(NetworkResource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "allocation_id"], name="alibaba_eip_once")]

    class Query:
        fields = _COMMON + ["allocation_id", "ip_address", "bandwidth", "internet_charge_type",
                            "instance_charge_type", "instance_id", "ecs_instance_uuid"]
        aliases = {**_ALIASES, "ecs_instance_uuid": "ecs_instance__uuid"}
        relations = ["data_center", "account", "ecs_instance"]

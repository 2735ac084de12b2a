"""The mirrored network's API: /alibaba-vpcs/, /alibaba-v-switches/, /alibaba-v-routers/,
/alibaba-route-entries/, /alibaba-security-groups/, /alibaba-eips/.

Creating one, and every change in the cloud, is a flow (202 + job). Deleting has two ways, as an
ECS instance's: ``DELETE`` (an EIP's ``release``) deletes it in the cloud, waits until it is gone,
then deletes the row; ``POST .../delete-here/`` deletes the row only, leaving the cloud alone (the
next sync brings it back). VRouters are the cloud's (made and deleted with their VPC): they are
synced and shown only."""
import uuid as uuid_lib

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.viewsets import ReadOnlyQueryViewSet, ResourceViewSet
from apps.core.errors import Conflict, InvalidArgument

from . import network_serializers as s
from .delete_here import DeleteHere
from .flows.network_eips import ALLOCATE_EIP, ASSOCIATE_EIP, DISASSOCIATE_EIP, RELEASE_EIP
from .flows.network_security_groups import ADD_RULE, CREATE_SECURITY_GROUP, DELETE_SECURITY_GROUP, REMOVE_RULE
from .flows.network_vpcs import (CREATE_ROUTE_ENTRY, CREATE_V_SWITCH, CREATE_VPC, DELETE_ROUTE_ENTRY, DELETE_V_SWITCH,
                                 DELETE_VPC)
from .models import (AlibabaEip, AlibabaRouteEntry, AlibabaSecurityGroup, AlibabaVpc, AlibabaVRouter, AlibabaVSwitch,
                     EcsInstance, NetworkState)
from .models.network import NETWORK_STATE_MACHINE


def _args(row, data=None):
    """The job's arguments: the row, and what its action's body validated (nothing else a request
    sends reaches a job: it could name another account's row)."""
    return {**(data or {}), "row_uuid": str(row.uuid)}


def _action(action, flow, body=None, check=None, doc=""):
    """A flow action on a row the cloud has: allowed by the state table (409 naming the state),
    then by ``check(row, data)`` when given."""
    def plan(row, data):
        NETWORK_STATE_MACHINE.next(row.state, NETWORK_STATE_MACHINE.actions[action], action=action)
        data = dict(data) if body is not None else {}
        if check is not None:
            check(row, data)
        return flow, _args(row, data)
    return FlowAction(plan=plan, body=body, doc=doc)


def _delete_remote(flow, check=None, what="it"):
    return _action("delete", flow, check=check,
                   doc=f"Delete {what} in Alibaba Cloud (waiting until it is gone), then here (202 + job). "
                       "POST .../delete-here/ deletes it here only.")


class NetworkViewSet(DeleteHere, ResourceViewSet):
    """What the mirrored network resources share: a create makes the row (Creating, held by the
    job) and starts ``create_flow``; ``row_values(data)`` says the row's columns."""

    create_flow = None

    def row_values(self, data):
        raise NotImplementedError

    def start_create(self, data):
        job_uuid = uuid_lib.uuid4()
        values = self.row_values(data)
        data_center = values["data_center"]
        row = self.queryset.model.objects.create(
            account_id=data_center.account_id, busy_job=job_uuid, description=data.get("description", ""), **values)
        return [FlowStart(row, self.create_flow, _args(row), job_uuid)]


def _named_by(prefix, what):
    """A name for a row created without one, the cloud's way (a letter first; no "/"): vpc-10.0.0.0-16."""
    return f"{prefix}-{what.replace('/', '-')}"


def _not_live(queryset):
    return queryset.exclude(state=NetworkState.DELETED)


def _vpc_is_empty(vpc, data):
    """The cloud refuses to delete a VPC that holds vSwitches or security groups: so does the portal,
    naming them, before it asks (the cloud's own refusal ends the job when it knows of more)."""
    switches = list(_not_live(vpc.v_switches.all()).values_list("v_switch_id", flat=True))
    groups = list(_not_live(vpc.security_groups.all()).values_list("security_group_id", flat=True))
    if switches or groups:
        raise Conflict(f"VPC {vpc.vpc_id} still holds {len(switches)} vSwitch(es) and {len(groups)} security "
                       "group(s): delete them first", code="ALIBABA_VPC_NOT_EMPTY",
                       details={"v_switch_ids": switches, "security_group_ids": groups})


class VpcViewSet(NetworkViewSet):
    """VPCs of the data centres (made with their VRouter, which is shown under VRouters)."""

    queryset = AlibabaVpc.objects.select_related("data_center", "account")
    serializer_class = s.VpcSerializer
    create_serializer_class = s.VpcCreateSerializer
    create_flow = CREATE_VPC
    delete_action = _delete_remote(DELETE_VPC, _vpc_is_empty, "the VPC (and its VRouter)")

    def row_values(self, data):
        return {"name": data.get("name") or _named_by("vpc", data["cidr_block"]), "data_center": data["data_center"],
                "cidr_block": data["cidr_block"]}


def _v_switch_unused(v_switch, data):
    users = EcsInstance.objects.filter(data_center_id=v_switch.data_center_id, v_switch_id=v_switch.v_switch_id) \
        .exclude(state="Deleted").values_list("instance_id", flat=True)
    if users:
        raise Conflict(f"vSwitch {v_switch.v_switch_id} is used by ECS instance(s) {', '.join(users)}",
                       code="ALIBABA_V_SWITCH_IN_USE", details={"instance_ids": list(users)})


class VSwitchViewSet(NetworkViewSet):
    queryset = AlibabaVSwitch.objects.select_related("data_center", "account", "parent_vpc", "identity_zone")
    serializer_class = s.VSwitchSerializer
    create_serializer_class = s.VSwitchCreateSerializer
    create_flow = CREATE_V_SWITCH
    delete_action = _delete_remote(DELETE_V_SWITCH, _v_switch_unused, "the vSwitch")

    def row_values(self, data):
        vpc = data["vpc"]
        return {"name": data.get("name") or _named_by("vsw", data["cidr_block"]), "data_center": vpc.data_center,
                "parent_vpc": vpc, "vpc_id": vpc.vpc_id, "identity_zone": data["identity_zone"],
                "cidr_block": data["cidr_block"]}


class VRouterViewSet(DeleteHere, ReadOnlyQueryViewSet):
    """The VPCs' VRouters, as syncs (and VPC creates) found them; one gone from the cloud
    (``Deleted``) is deleted here with ``delete-here``."""

    queryset = AlibabaVRouter.objects.select_related("data_center", "account", "parent_vpc")
    serializer_class = s.VRouterSerializer


def _custom_entry(entry, data):
    if entry.entry_type != "Custom":
        raise Conflict(f"route entry {entry.route_entry_id} is a system entry of the cloud's (its service range or "
                       "a vSwitch's): it goes with what made it", code="ALIBABA_SYSTEM_ROUTE",
                       details={"entry_type": entry.entry_type})


class RouteEntryViewSet(NetworkViewSet):
    queryset = AlibabaRouteEntry.objects.select_related("data_center", "account", "v_router")
    serializer_class = s.RouteEntrySerializer
    create_serializer_class = s.RouteEntryCreateSerializer
    create_flow = CREATE_ROUTE_ENTRY
    delete_action = _delete_remote(DELETE_ROUTE_ENTRY, _custom_entry, "the route entry")

    def row_values(self, data):
        router = data["v_router"]
        return {"name": data.get("name") or _named_by("route", data["destination_cidr_block"]),
                "data_center": router.data_center, "v_router": router, "route_table_id": data["route_table_id"],
                "destination_cidr_block": data["destination_cidr_block"], "next_hop_type": data["next_hop_type"],
                "next_hop_id": data["next_hop_id"], "entry_type": "Custom"}


def _group_unused(group, data):
    users = [instance_id for instance_id, groups in EcsInstance.objects.filter(data_center_id=group.data_center_id)
             .exclude(state="Deleted").values_list("instance_id", "security_group_ids")
             if group.security_group_id in (groups or [])]
    if users:
        raise Conflict(f"security group {group.security_group_id} still has ECS instance(s) {', '.join(users)}",
                       code="ALIBABA_SECURITY_GROUP_IN_USE", details={"instance_ids": users})


def _rule_held(group, data):
    if not any(rule["rule_id"] == data["rule_id"] for rule in group.rules):
        raise InvalidArgument(f"security group {group.security_group_id} has no rule {data['rule_id']}",
                              details={"rule_id": [f"not a rule of {group.security_group_id}"]})


class SecurityGroupViewSet(NetworkViewSet):
    """Security groups with their rules (``rules``); ``add-rule`` and ``remove-rule`` change them
    in the cloud."""

    queryset = AlibabaSecurityGroup.objects.select_related("data_center", "account", "parent_vpc")
    serializer_class = s.SecurityGroupSerializer
    create_serializer_class = s.SecurityGroupCreateSerializer
    create_flow = CREATE_SECURITY_GROUP
    flow_actions = {
        "add-rule": _action("add-rule", ADD_RULE, s.RuleBody,
                            doc="Add a rule to the group in the cloud (202 + job); one it has already is kept once."),
        "remove-rule": _action("remove-rule", REMOVE_RULE, s.RemoveRuleBody, _rule_held,
                               doc="Remove the rule ``rule_id`` from the group in the cloud (202 + job)."),
    }
    delete_action = _delete_remote(DELETE_SECURITY_GROUP, _group_unused, "the security group")

    def row_values(self, data):
        vpc = data["vpc"]
        return {"name": data.get("name") or _named_by("sg", vpc.vpc_id), "data_center": vpc.data_center,
                "parent_vpc": vpc, "vpc_id": vpc.vpc_id, "security_group_type": data["security_group_type"]}


def _associable(eip, data):
    instance = data["ecs_instance"]
    if instance.data_center_id != eip.data_center_id or not instance.instance_id:
        raise InvalidArgument("an EIP is associated with an ECS instance of its own data centre",
                              details={"ecs_instance_uuid": ["not an instance of the EIP's data centre"]})
    if instance.state not in ("Running", "Stopped"):
        raise Conflict(f"ECS instance {instance.instance_id} is {instance.state}: an EIP is associated with a "
                       "Running or Stopped instance", code="INVALID_STATE", details={"state": instance.state})
    if instance.eip_address:
        raise Conflict(f"ECS instance {instance.instance_id} has the EIP {instance.eip_address} already",
                       code="ALIBABA_INSTANCE_HAS_EIP", details={"eip_address": instance.eip_address})
    data["ecs_instance_uuid"] = str(instance.uuid)
    del data["ecs_instance"]   # the job's arguments are JSON


RELEASE = _action("release", RELEASE_EIP, doc=(
    "Release the EIP in Alibaba Cloud, then delete it here (202 + job; DELETE does the same); an "
    "associated one is refused (409): disassociate it first. POST .../delete-here/ deletes it here only."))


class EipViewSet(NetworkViewSet):
    """EIPs; ``associate`` with an ECS instance of the data centre, ``disassociate``, ``release``
    (in the cloud, then here)."""

    queryset = AlibabaEip.objects.select_related("data_center", "account", "ecs_instance")
    serializer_class = s.EipSerializer
    create_serializer_class = s.EipCreateSerializer
    create_flow = ALLOCATE_EIP
    flow_actions = {
        "associate": _action("associate", ASSOCIATE_EIP, s.AssociateBody, _associable,
                             doc="Associate the EIP with an ECS instance (202 + job; waits until it is InUse)."),
        "disassociate": _action("disassociate", DISASSOCIATE_EIP,
                                doc="Let its instance go (202 + job; waits until the EIP is Available)."),
        "release": RELEASE,
    }
    delete_action = RELEASE

    def row_values(self, data):
        return {"name": data.get("name") or "eip", "data_center": data["data_center"],
                "bandwidth": data["bandwidth"], "internet_charge_type": data["internet_charge_type"]}



"""VPN flows: customer gateways and VPN connections (create, rename/modify, delete) and the quick
create of a gateway, a customer gateway and a connection between them, every step undone on failure.

What a create makes carries the tag ``cloudportal:uuid`` = its row's uuid (a VPN gateway takes no
tags: it is found by its VPC and name) and a ClientToken of the job, so a retried step, a rollback
and a sync find it even when the worker died before it recorded the id. Secrets (the IPsec
pre-shared key, a customer gateway's BGP AuthKey) travel encrypted in the job's arguments and are
put into the call only when it is sent.

    create customer gateway:  RecordRows -> CreateCustomerGatewayInCloud -> MarkCreated
    create VPN connection:    RecordRows -> CreateConnectionInCloud -> MarkCreated
    quick create:             RecordRows -> CreateVpnGatewayInCloud -> WaitVpnGatewayActive
                              -> CreateCustomerGatewayInCloud -> CreateConnectionInCloud -> MarkCreated
    rename / modify:          Begin -> (the call) -> Refresh
    delete:                   Begin -> DeleteInCloud -> DeleteRow

Arguments: data_center_uuid; the rows' uuids (``vpn_gateway_uuid``, ``customer_gateway_uuid``,
``vpn_connection_uuid``: those the flow makes or changes); the cloud's parameters the API validated
(``vpn_gateway_params``, ``customer_gateway_params``, ``connection_params``: IkeConfig and
IpsecConfig as dicts); ``psk`` and ``auth_key`` encrypted.
"""
import json
from dataclasses import dataclass

from apps.core.errors import InvalidState
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..cloud import AlibabaError, is_not_found
from ..models import CustomerGateway, VpnConnection, VpnGateway, VpnState
from ..models.vpn import BUSY_STATES
from ..remote_kinds import CUSTOMER_GATEWAYS, VPN_CONNECTIONS, VPN_GATEWAYS, items_at, tagged_by_portal
from ..syncing import Sync
from .common import secret_arg
from .links_common import GONE, data_center_cloud, portal_tag, set_row, take_id, wait_status


@dataclass(frozen=True)
class Kind:
    """How the flows handle one kind of VPN resource in the cloud and here."""

    model: type
    remote: object          # its RemoteKind (how a row reads an item)
    row_arg: str            # the argument holding its row's uuid
    id_field: str           # the cloud's id field, also the column holding it
    describe: str           # its Describe* action (takes the id field as a filter)
    items: str              # where the items are in that answer
    delete: str
    tag_filter: str = ""    # the listing's tag filter parameter ("" : it takes none)


VPN_GATEWAY = Kind(VpnGateway, VPN_GATEWAYS, "vpn_gateway_uuid", "VpnGatewayId", "DescribeVpnGateways",
                   "VpnGateways.VpnGateway", "DeleteVpnGateway")
CUSTOMER_GATEWAY = Kind(CustomerGateway, CUSTOMER_GATEWAYS, "customer_gateway_uuid", "CustomerGatewayId",
                        "DescribeCustomerGateways", "CustomerGateways.CustomerGateway", "DeleteCustomerGateway", "Tag")
VPN_CONNECTION = Kind(VpnConnection, VPN_CONNECTIONS, "vpn_connection_uuid", "VpnConnectionId",
                      "DescribeVpnConnections", "VpnConnections.VpnConnection", "DeleteVpnConnection", "Tag")
KINDS = (VPN_GATEWAY, CUSTOMER_GATEWAY, VPN_CONNECTION)
# how far the cloud's clock may be behind the portal's when a VPN gateway is found by when it was made
CLOCK_SKEW_SECONDS = 300


def column(kind):
    return kind.remote.local_key


def row_of(ctx, kind):
    return kind.model.objects.select_related("data_center").get(uuid=ctx.args[kind.row_arg])


def describe(cloud, kind, remote_id):
    """The cloud's item of ``kind`` with id ``remote_id``, or None."""
    body = cloud.vpc(kind.describe, {kind.id_field: remote_id})
    return next((item for item in items_at(body, kind.items) if item.get(kind.id_field) == remote_id), None)


def made_for(cloud, kind, ctx):
    """The ids of what a create of this job made for the row: found by its tag; a VPN gateway
    (which takes no tags) by its VPC, its name and its creation since the job began, but for one
    that a row of another running job holds."""
    row_uuid = ctx.args[kind.row_arg]
    if kind.tag_filter:
        body = cloud.vpc(kind.describe, {kind.tag_filter: portal_tag(row_uuid)})
        return [item[kind.id_field] for item in items_at(body, kind.items)
                if tagged_by_portal(item, "Tag.Tag", "Tags.Tag") == row_uuid]
    params = ctx.args["vpn_gateway_params"]
    body = cloud.vpc(kind.describe, {"VpcId": params["VpcId"]})
    since = (ctx.job.created_at.timestamp() - CLOCK_SKEW_SECONDS) * 1000
    others = set(kind.model.objects.filter(data_center__uuid=ctx.args["data_center_uuid"], busy_job__isnull=False)
                 .exclude(busy_job=ctx.job.uuid).values_list(column(kind), flat=True))
    return [item[kind.id_field] for item in items_at(body, kind.items)
            if item.get("Name") == params.get("Name") and int(item.get("CreateTime") or 0) >= since
            and item[kind.id_field] not in others]


def remote_id_of(ctx, kind):
    return ctx.get(column(kind)) or getattr(row_of(ctx, kind), column(kind))


def gateway_status(cloud, gateway_id):
    return lambda: (describe(cloud, VPN_GATEWAY, gateway_id) or {}).get("Status", GONE)


def delete_remote(ctx, cloud, kind, remote_id):
    """Delete one resource in the cloud and wait until it is gone; one gone already is fine. A VPN
    gateway is deleted once active (the cloud refuses it while it is being made)."""
    subject = f"{kind.model._meta.verbose_name} {remote_id}"
    if kind is VPN_GATEWAY:
        if wait_status(ctx, gateway_status(cloud, remote_id), ("active", GONE), subject) is GONE:
            return
    try:
        cloud.vpc(kind.delete, {kind.id_field: remote_id})
    except AlibabaError as exc:
        if not is_not_found(exc):
            raise
    wait_status(ctx, lambda: GONE if describe(cloud, kind, remote_id) is None else "deleting", (GONE,), subject)


# --- steps -------------------------------------------------------------------------------------------
class RecordRows(DbStep):
    """The rows exist already (the API made them, claimed by this job); a failed create deletes them."""

    def run(self, ctx):
        """Nothing to do: the API made them with the job."""

    def rollback(self, ctx):
        for kind in KINDS:
            if kind.row_arg in ctx.args:
                kind.model.objects.filter(uuid=ctx.args[kind.row_arg]).delete()


class CreateInCloud(RemoteStep):
    kind = None

    def params(self, ctx):
        """The create call's parameters (secrets put in here, from the job's encrypted arguments)."""
        raise NotImplementedError

    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        found = made_for(cloud, self.kind, ctx)   # look before you create
        if found:
            setattr(ctx, column(self.kind), found[0])
            return
        params = {**self.params(ctx), "ClientToken": f"{ctx.job.uuid}-{self.kind.id_field}"}
        if self.kind.tag_filter:
            params["Tags"] = portal_tag(ctx.args[self.kind.row_arg])
        setattr(ctx, column(self.kind), cloud.vpc(self.create_action, params)[self.kind.id_field])

    def record(self, ctx):
        if ctx.get(column(self.kind)):
            take_id(self.kind.model, ctx.args[self.kind.row_arg], column(self.kind), ctx.get(column(self.kind)))

    def rollback(self, ctx):
        cloud = data_center_cloud(ctx)
        recorded = ctx.get(column(self.kind))
        for remote_id in ([recorded] if recorded else made_for(cloud, self.kind, ctx)):
            delete_remote(ctx, cloud, self.kind, remote_id)


class CreateVpnGatewayInCloud(CreateInCloud):
    kind = VPN_GATEWAY
    create_action = "CreateVpnGateway"

    def params(self, ctx):
        return dict(ctx.args["vpn_gateway_params"])


class WaitVpnGatewayActive(RemoteStep, NoRollback):
    def run(self, ctx):
        gateway_id = ctx.vpn_gateway_id
        wait_status(ctx, gateway_status(data_center_cloud(ctx), gateway_id), ("active",), f"VPN gateway {gateway_id}")


class CreateCustomerGatewayInCloud(CreateInCloud):
    kind = CUSTOMER_GATEWAY
    create_action = "CreateCustomerGateway"

    def params(self, ctx):
        params = dict(ctx.args["customer_gateway_params"])
        if ctx.args.get("auth_key"):
            params["AuthKey"] = secret_arg(ctx, "auth_key")
        return params


def as_sent(ctx, params):
    """A create's or modify's parameters as the SDK sends them: IkeConfig and IpsecConfig as JSON
    strings, the pre-shared key put into IkeConfig from the job's encrypted arguments."""
    params = dict(params)
    ike = dict(params.pop("IkeConfig", None) or {})
    if ctx.args.get("psk"):
        ike["Psk"] = secret_arg(ctx, "psk")
    if ike:
        params["IkeConfig"] = json.dumps(ike)
    ipsec = params.pop("IpsecConfig", None)
    if ipsec:
        params["IpsecConfig"] = json.dumps(ipsec)
    return params


class CreateConnectionInCloud(CreateInCloud):
    kind = VPN_CONNECTION
    create_action = "CreateVpnConnection"

    def params(self, ctx):
        params = as_sent(ctx, ctx.args["connection_params"])
        # in a quick create, the gateways the steps before made
        for kind in (VPN_GATEWAY, CUSTOMER_GATEWAY):
            if ctx.get(column(kind)):
                params[kind.id_field] = ctx.get(column(kind))
        return params


def mirror(ctx, kind, item, **extra):
    """The row of ``kind`` written as the cloud's ``item`` describes it."""
    row = row_of(ctx, kind)
    sync = Sync(row.data_center, None)
    kind.remote.prepare(sync)
    values = kind.remote.values(item, sync) if item else {}
    return set_row(kind.model, row.uuid, **values, **extra)


class MarkCreated(DbStep, NoRollback):
    """Every row the flow made, as the cloud describes its resource now; the rows besides the job's
    own resource are no longer claimed by the job."""

    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        result = {}
        for kind in KINDS:
            if kind.row_arg not in ctx.args:
                continue
            remote_id = remote_id_of(ctx, kind)
            # the engine ends the claim on the job's own resource; the others' is ended here
            own = ctx.args[kind.row_arg] == str(ctx.job.resource_uuid)
            row = mirror(ctx, kind, describe(cloud, kind, remote_id), **({} if own else {"busy_job": None}))
            result[kind.row_arg] = str(row.uuid)
            result[column(kind)] = remote_id
            result[f"{kind.row_arg[:-5]}_state"] = row.state
        ctx.result = result


class Begin(DbStep):
    """The row moves to ``state`` (Updating, Deleting) unless a flow already works on it; its
    rollback puts back the state it had."""

    kind = None
    state = None

    def run(self, ctx):
        row = row_of(ctx, self.kind)
        if row.state in BUSY_STATES:
            raise InvalidState(f"the {row._meta.verbose_name} is {row.state}", details={"state": row.state})
        ctx.state_before = row.state
        set_row(self.kind.model, row.uuid, state=self.state)

    def rollback(self, ctx):
        before = ctx.get("state_before")
        row = self.kind.model.objects.filter(uuid=ctx.args[self.kind.row_arg]).first()
        if before is not None and row is not None and row.state == self.state:
            set_row(self.kind.model, row.uuid, state=before)

    @classmethod
    def of(cls, kind, state):
        return type(f"Begin{state}{kind.model.__name__}", (cls,), {"kind": kind, "state": state})


class ModifyInCloud(RemoteStep, NoRollback):
    kind = None
    action = None
    build = None   # function(ctx, remote_id) -> parameters

    def run(self, ctx):
        remote_id = remote_id_of(ctx, self.kind)
        data_center_cloud(ctx).vpc(self.action, self.build(ctx, remote_id))

    @classmethod
    def of(cls, kind, action, build):
        return type(action, (cls,), {"kind": kind, "action": action, "build": staticmethod(build)})


class Refresh(RemoteStep, NoRollback):
    """The row as the cloud describes its resource after the change (its state: the cloud's)."""

    kind = None

    def run(self, ctx):
        item = describe(data_center_cloud(ctx), self.kind, remote_id_of(ctx, self.kind))
        row = mirror(ctx, self.kind, item)
        ctx.result = {self.kind.row_arg: str(row.uuid), column(self.kind): getattr(row, column(self.kind)),
                      "state": row.state}

    @classmethod
    def of(cls, kind):
        return type(f"Refresh{kind.model.__name__}", (cls,), {"kind": kind})


class DeleteInCloud(RemoteStep, NoRollback):
    """Delete the resource in the cloud (one gone there already, or never made: nothing to do)."""

    kind = None

    def run(self, ctx):
        remote_id = getattr(row_of(ctx, self.kind), column(self.kind))
        if remote_id and ctx.get("state_before") != VpnState.DELETED:
            delete_remote(ctx, data_center_cloud(ctx), self.kind, remote_id)

    @classmethod
    def of(cls, kind):
        return type(f"Delete{kind.model.__name__}InCloud", (cls,), {"kind": kind})


class DeleteRow(DbStep, NoRollback):
    kind = None

    def run(self, ctx):
        row = row_of(ctx, self.kind)
        ctx.result = {self.kind.row_arg: str(row.uuid), column(self.kind): getattr(row, column(self.kind)),
                      "deleted": True}
        row.delete()
        ctx.resource_released()

    @classmethod
    def of(cls, kind):
        return type(f"Delete{kind.model.__name__}Row", (cls,), {"kind": kind})


def _rename(ctx, remote_id):
    return {"CustomerGatewayId": remote_id, "Name": ctx.args["name"], "Description": ctx.args.get("description", "")}


def _modify(ctx, remote_id):
    return {"VpnConnectionId": remote_id, **as_sent(ctx, ctx.args["connection_params"])}


CREATE_CUSTOMER_GATEWAY = Flow("create-customer-gateway", [RecordRows, CreateCustomerGatewayInCloud, MarkCreated])
RENAME_CUSTOMER_GATEWAY = Flow("rename-customer-gateway", [
    Begin.of(CUSTOMER_GATEWAY, VpnState.UPDATING),
    ModifyInCloud.of(CUSTOMER_GATEWAY, "ModifyCustomerGatewayAttribute", _rename), Refresh.of(CUSTOMER_GATEWAY)])
DELETE_CUSTOMER_GATEWAY = Flow("delete-customer-gateway", [
    Begin.of(CUSTOMER_GATEWAY, VpnState.DELETING), DeleteInCloud.of(CUSTOMER_GATEWAY), DeleteRow.of(CUSTOMER_GATEWAY)])

CREATE_VPN_CONNECTION = Flow("create-vpn-connection", [RecordRows, CreateConnectionInCloud, MarkCreated])
MODIFY_VPN_CONNECTION = Flow("modify-vpn-connection", [
    Begin.of(VPN_CONNECTION, VpnState.UPDATING),
    ModifyInCloud.of(VPN_CONNECTION, "ModifyVpnConnectionAttribute", _modify), Refresh.of(VPN_CONNECTION)])
DELETE_VPN_CONNECTION = Flow("delete-vpn-connection", [
    Begin.of(VPN_CONNECTION, VpnState.DELETING), DeleteInCloud.of(VPN_CONNECTION), DeleteRow.of(VPN_CONNECTION)])

QUICK_CREATE_VPN = Flow("quick-create-vpn", [RecordRows, CreateVpnGatewayInCloud, WaitVpnGatewayActive,
                                             CreateCustomerGatewayInCloud, CreateConnectionInCloud, MarkCreated],
                        action="quick-create-vpn", timeout=3600)

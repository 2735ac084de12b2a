"""The quick create of an Express Connect link between a VBR and a VPC, every step undone on failure:

    ReadLinkEnds -> CreateVbrEnd -> CreateVpcEnd -> PairEnds -> ConnectEnds -> WaitLinkActive
    -> RouteVpcToIdc -> RouteIdcToVpc -> RecordLink

The VBR's end initiates (the cloud connects from the initiating side), the VPC's VRouter end
accepts (spec ``Negative``: it takes the initiator's bandwidth). Once both are Active, the VPC's
route table sends the data centre's CIDR to its end, and the VBR's route table sends the VPC's
CIDR to the VBR's end. A failure at any step deletes the routes, deactivates and deletes both
interfaces (in that order: the cloud refuses to delete an interface a route uses, or an Active
one), and nothing is left in the cloud.

Each create carries the tag ``cloudportal:uuid`` = the job's uuid and a ClientToken of the job:
a retried step, a rollback and a sync find what the job made even when the worker died before it
recorded the ids. The job's resource is the VBR (one link made at a time per VBR).

Arguments: data_center_uuid, vbr_uuid, vpc_id, idc_cidr, vpc_cidr (optional: the VPC's own CIDR),
spec, name.

Deleting a link in the cloud (from either end's row) undoes the same in the same order:

    ReadLink -> DeleteLinkRoutes -> DeleteLinkEnds -> DeleteLinkRows

(arguments: data_center_uuid, router_interface_uuid): every route through either end, in the
route tables of their routers, then both ends, then their rows.
"""
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..cloud import AlibabaError, is_not_found
from ..models import RouterInterface, VirtualBorderRouter
from ..remote_kinds import ROUTER_INTERFACES
from ..syncing import Sync
from .links_common import GONE, data_center_cloud, portal_tag, upsert_mirror, wait_status

# an interface on its way between two statuses: the cloud refuses to deactivate or delete it then
# (one Deleting is only waited for until it is gone)
MOVING = ("Connecting", "AcceptingConnecting", "Activating", "Deactivating")


def vbr_of(ctx):
    return VirtualBorderRouter.objects.select_related("data_center").get(uuid=ctx.args["vbr_uuid"])


def describe_interface(cloud, interface_id):
    body = cloud.vpc("DescribeRouterInterfaces", {"Filter": [{"Key": "RouterInterfaceId", "Value": [interface_id]}]})
    for item in (body.get("RouterInterfaceSet") or {}).get("RouterInterfaceType") or []:
        if item.get("RouterInterfaceId") == interface_id:
            return item
    return None


def interface_status(cloud, interface_id):
    return lambda: (describe_interface(cloud, interface_id) or {}).get("Status", GONE)


def made_by_job(cloud, ctx, router_type):
    """The ids of the interfaces this job made on a router of ``router_type`` (found by its tag)."""
    body = cloud.vpc("DescribeRouterInterfaces", {"Tags": portal_tag(ctx.job.uuid),
                                                  "Filter": [{"Key": "RouterType", "Value": [router_type]}]})
    return [item["RouterInterfaceId"] for item in (body.get("RouterInterfaceSet") or {}).get("RouterInterfaceType")
            or [] if ROUTER_INTERFACES.created_by(item) == str(ctx.job.uuid)]


def remove_interface(ctx, cloud, interface_id):
    """Deactivate (when Active) and delete an interface, and wait until it is gone; one gone is fine."""
    subject = f"router interface {interface_id}"
    status = interface_status(cloud, interface_id)
    current = status()
    if current in MOVING:
        current = wait_status(ctx, status, ("Idle", "Active", "Inactive", GONE), subject)
    if current == "Active":
        cloud.vpc("DeactivateRouterInterface", {"RouterInterfaceId": interface_id})
        current = wait_status(ctx, status, ("Inactive", GONE), subject)
    if current in ("Idle", "Inactive"):
        try:
            cloud.vpc("DeleteRouterInterface", {"RouterInterfaceId": interface_id})
        except AlibabaError as exc:
            if not is_not_found(exc):
                raise
    wait_status(ctx, status, (GONE,), subject)


class ReadLinkEnds(RemoteStep, NoRollback):
    """The VBR's router and route table (its row), the VPC's VRouter, CIDR and route table (the cloud)."""

    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        vbr = vbr_of(ctx)
        vpcs = cloud.vpc("DescribeVpcs", {"VpcId": ctx.args["vpc_id"]}).get("Vpcs", {}).get("Vpc") or []
        vpc = next((v for v in vpcs if v.get("VpcId") == ctx.args["vpc_id"]), None)
        if vpc is None:
            raise AlibabaError(f"Alibaba Cloud has no VPC {ctx.args['vpc_id']} in {cloud.region_id}",
                               code="ALIBABA_NOT_FOUND", status=404, details={"vpc_id": ctx.args["vpc_id"]})
        tables = cloud.vpc("DescribeRouteTableList", {"VpcId": vpc["VpcId"], "RouterType": "VRouter"})
        system = [t for t in (tables.get("RouterTableList") or {}).get("RouterTableListType") or []
                  if t.get("RouteTableType", "System") == "System"]
        ctx.link = {"vbr_id": vbr.vbr_id, "vbr_route_table_id": vbr.route_table_id,
                    "access_point_id": vbr.access_point_id, "vrouter_id": vpc["VRouterId"],
                    "vpc_route_table_id": system[0]["RouteTableId"] if system else vpc["RouterTableIds"][
                        "RouterTableIds"][0],
                    "vpc_cidr": ctx.args.get("vpc_cidr") or vpc["CidrBlock"]}


class CreateEnd(RemoteStep):
    """One end of the link (``side``: "vbr" or "vpc"), unless the job made it already."""

    side = None
    router_type = None

    def params(self, ctx):
        raise NotImplementedError

    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        found = made_by_job(cloud, ctx, self.router_type)   # look before you create
        if found:
            setattr(ctx, f"{self.side}_end", found[0])
            return
        params = {**self.params(ctx), "OppositeRegionId": cloud.region_id, "Tags": portal_tag(ctx.job.uuid),
                  "ClientToken": f"{ctx.job.uuid}-{self.side}"}
        setattr(ctx, f"{self.side}_end", cloud.vpc("CreateRouterInterface", params)["RouterInterfaceId"])

    def rollback(self, ctx):
        cloud = data_center_cloud(ctx)
        recorded = ctx.get(f"{self.side}_end")
        for interface_id in ([recorded] if recorded else made_by_job(cloud, ctx, self.router_type)):
            remove_interface(ctx, cloud, interface_id)
            # a sync may have imported it meanwhile
            RouterInterface.objects.filter(router_interface_id=interface_id,
                                           data_center__uuid=ctx.args["data_center_uuid"]).delete()


class CreateVbrEnd(CreateEnd):
    side, router_type = "vbr", "VBR"

    def params(self, ctx):
        link = ctx.link
        return {"Role": "InitiatingSide", "RouterType": "VBR", "RouterId": link["vbr_id"],
                "AccessPointId": link["access_point_id"], "Spec": ctx.args["spec"],
                "OppositeRouterType": "VRouter", "OppositeRouterId": link["vrouter_id"],
                "Name": ctx.args["name"], "Description": f"to {ctx.args['vpc_id']}"}


class CreateVpcEnd(CreateEnd):
    side, router_type = "vpc", "VRouter"

    def params(self, ctx):
        link = ctx.link
        return {"Role": "AcceptingSide", "RouterType": "VRouter", "RouterId": link["vrouter_id"], "Spec": "Negative",
                "OppositeRouterType": "VBR", "OppositeRouterId": link["vbr_id"],
                "OppositeInterfaceId": ctx.vbr_end, "OppositeAccessPointId": link["access_point_id"],
                "Name": ctx.args["name"], "Description": f"to {link['vbr_id']}"}


class PairEnds(RemoteStep, NoRollback):
    """The VBR's end learns the VPC's end (made after it): the cloud connects only ends that name each other."""

    def run(self, ctx):
        data_center_cloud(ctx).vpc("ModifyRouterInterfaceAttribute", {"RouterInterfaceId": ctx.vbr_end,
                                                                      "OppositeInterfaceId": ctx.vpc_end})


class ConnectEnds(RemoteStep, NoRollback):
    """Connect from the initiating end (once: an end no longer Idle is connecting or connected)."""

    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        if interface_status(cloud, ctx.vbr_end)() == "Idle":
            cloud.vpc("ConnectRouterInterface", {"RouterInterfaceId": ctx.vbr_end})


class WaitLinkActive(RemoteStep, NoRollback):
    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        for interface_id in (ctx.vbr_end, ctx.vpc_end):
            wait_status(ctx, interface_status(cloud, interface_id), ("Active",), f"router interface {interface_id}")


def find_route(cloud, table_id, destination, next_hop_id):
    body = cloud.vpc("DescribeRouteEntryList", {"RouteTableId": table_id, "DestinationCidrBlock": destination})
    for entry in (body.get("RouteEntrys") or {}).get("RouteEntry") or []:
        hops = [hop.get("NextHopId") for hop in (entry.get("NextHops") or {}).get("NextHop") or []]
        if entry.get("DestinationCidrBlock") == destination and next_hop_id in hops:
            return entry
    return None


def route_status(cloud, table_id, destination, next_hop_id):
    return lambda: (find_route(cloud, table_id, destination, next_hop_id) or {}).get("Status", GONE)


class AddRoute(RemoteStep):
    """A route entry: ``destination`` through one end of the link, in one side's route table,
    waited for until Available. Its rollback deletes it (waiting first for a Pending one)."""

    side = None

    def route(self, ctx):
        """(route table id, destination CIDR, next hop: the end's interface id)."""
        raise NotImplementedError

    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        table_id, destination, hop = self.route(ctx)
        if find_route(cloud, table_id, destination, hop) is None:   # look before you create
            cloud.vpc("CreateRouteEntry", {
                "RouteTableId": table_id, "DestinationCidrBlock": destination, "NextHopType": "RouterInterface",
                "NextHopId": hop, "RouteEntryName": ctx.args["name"], "ClientToken": f"{ctx.job.uuid}-{self.side}"})
        wait_status(ctx, route_status(cloud, table_id, destination, hop), ("Available",),
                    f"route {destination} in {table_id}")

    def rollback(self, ctx):
        table_id, destination, hop = self.route(ctx)
        if hop:
            remove_route(ctx, data_center_cloud(ctx), table_id, destination, hop)


def remove_route(ctx, cloud, table_id, destination, hop):
    """Delete the route entry (waiting first for a Pending one) and wait until it is gone."""
    status = route_status(cloud, table_id, destination, hop)
    subject = f"route {destination} in {table_id}"
    if wait_status(ctx, status, ("Available", "Deleting", GONE), subject) == "Available":
        try:
            cloud.vpc("DeleteRouteEntry", {"RouteTableId": table_id, "DestinationCidrBlock": destination,
                                           "NextHopId": hop})
        except AlibabaError as exc:
            if not is_not_found(exc):
                raise
    wait_status(ctx, status, (GONE,), subject)


class RouteVpcToIdc(AddRoute):
    side = "vpc-route"

    def route(self, ctx):
        return ctx.link["vpc_route_table_id"], ctx.args["idc_cidr"], ctx.get("vpc_end")


class RouteIdcToVpc(AddRoute):
    side = "vbr-route"

    def route(self, ctx):
        return ctx.link["vbr_route_table_id"], ctx.link["vpc_cidr"], ctx.get("vbr_end")


class RecordLink(DbStep, NoRollback):
    """The two interfaces' rows, as the cloud describes them now."""

    def run(self, ctx):
        vbr = vbr_of(ctx)
        cloud = data_center_cloud(ctx)
        sync = Sync(vbr.data_center, cloud)
        ROUTER_INTERFACES.prepare(sync)
        rows = []
        for interface_id in (ctx.vbr_end, ctx.vpc_end):
            item = describe_interface(cloud, interface_id) or {"RouterInterfaceId": interface_id, "Status": "Active"}
            rows.append(upsert_mirror(RouterInterface, vbr.data_center, "router_interface_id", interface_id,
                                      ROUTER_INTERFACES.values(item, sync)))
        ctx.result = {"vbr_uuid": str(vbr.uuid), "vbr_end": ctx.vbr_end, "vpc_end": ctx.vpc_end,
                      "router_interface_uuids": [str(row.uuid) for row in rows],
                      "routes": [{"route_table_id": ctx.link["vpc_route_table_id"],
                                  "destination": ctx.args["idc_cidr"], "next_hop": ctx.vpc_end},
                                 {"route_table_id": ctx.link["vbr_route_table_id"],
                                  "destination": ctx.link["vpc_cidr"], "next_hop": ctx.vbr_end}]}


# --- deleting a link in the cloud --------------------------------------------------------------------
def interface_row(ctx):
    return RouterInterface.objects.select_related("data_center").get(uuid=ctx.args["router_interface_uuid"])


def route_tables_of(cloud, item):
    """The route tables that may route through an interface: its router's (a VBR's, or a VRouter's)."""
    if item.get("RouterType") == "VBR":
        body = cloud.vpc("DescribeVirtualBorderRouters", {"Filter": [{"Key": "VbrId", "Value": [item["RouterId"]]}]})
        return [v["RouteTableId"] for v in (body.get("VirtualBorderRouterSet") or {}).get("VirtualBorderRouterType")
                or [] if v.get("RouteTableId")]
    body = cloud.vpc("DescribeRouteTableList", {"RouterId": item["RouterId"], "RouterType": "VRouter"})
    return [t["RouteTableId"] for t in (body.get("RouterTableList") or {}).get("RouterTableListType") or []]


class ReadLink(RemoteStep, NoRollback):
    """The link's two ends (this interface and the one opposite, when the cloud has it) and the
    routes through them in their routers' route tables."""

    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        ours = describe_interface(cloud, interface_row(ctx).router_interface_id)
        ends = [ours] if ours else []
        opposite = describe_interface(cloud, ours["OppositeInterfaceId"]) if ours and ours.get(
            "OppositeInterfaceId") else None
        if opposite is not None:
            ends.append(opposite)
        routes = []
        for end in ends:
            for table_id in route_tables_of(cloud, end):
                body = cloud.vpc("DescribeRouteEntryList", {"RouteTableId": table_id,
                                                            "NextHopId": end["RouterInterfaceId"]})
                routes += [[table_id, entry["DestinationCidrBlock"], end["RouterInterfaceId"]]
                           for entry in (body.get("RouteEntrys") or {}).get("RouteEntry") or []]
        ctx.ends = [end["RouterInterfaceId"] for end in ends]
        ctx.routes = routes


class DeleteLinkRoutes(RemoteStep, NoRollback):
    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        for table_id, destination, hop in ctx.routes:
            remove_route(ctx, cloud, table_id, destination, hop)


class DeleteLinkEnds(RemoteStep, NoRollback):
    def run(self, ctx):
        cloud = data_center_cloud(ctx)
        for interface_id in ctx.ends:
            remove_interface(ctx, cloud, interface_id)


class DeleteLinkRows(DbStep, NoRollback):
    def run(self, ctx):
        row = interface_row(ctx)
        ids = {row.router_interface_id, *ctx.ends}
        ctx.result = {"router_interface_ids": sorted(ids), "routes_deleted": ctx.routes}
        RouterInterface.objects.filter(data_center_id=row.data_center_id, router_interface_id__in=ids).delete()
        ctx.resource_released()


LINK_VBR_TO_VPC = Flow("link-vbr-to-vpc", [ReadLinkEnds, CreateVbrEnd, CreateVpcEnd, PairEnds, ConnectEnds,
                                           WaitLinkActive, RouteVpcToIdc, RouteIdcToVpc, RecordLink],
                       action="link-vbr-to-vpc", timeout=3600)
# nothing to roll back: each step deletes, and a retried one finds gone what it deleted before
DELETE_LINK = Flow("delete-router-interface-link", [ReadLink, DeleteLinkRoutes, DeleteLinkEnds, DeleteLinkRows],
                   action="delete-router-interface-link", timeout=3600)

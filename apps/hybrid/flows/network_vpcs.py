"""VPCs, vSwitches and route entries made and deleted in the cloud (H7); the shape of their flows
is network_common's. A VPC is made with its VRouter, which the create mirrors here at once."""
from apps.core.errors import Conflict
from apps.core.flows import Flow, NoRollback, RemoteStep

from ..models import AlibabaRouteEntry, AlibabaVpc, AlibabaVRouter, AlibabaVSwitch
from ..remote_kinds import PORTAL_TAG, ROUTE_ENTRIES, V_ROUTERS, V_SWITCHES, VPCS
from ..syncing import Sync
from .network_common import RemoteType, cloud_of, create_steps, delete_steps, row_of, tagged


def _first(items, field, value):
    return next((item for item in items if item.get(field) == value), None)


def _named(params, **optional):
    """``params`` with the optional ones that have a value (the cloud refuses an empty name)."""
    return {**params, **{key: value for key, value in optional.items() if value}}


class Vpc(RemoteType):
    model, kind, what = AlibabaVpc, VPCS, "VPC"

    def describe(self, cloud, row, remote_id):
        return _first(cloud.vpc("DescribeVpcs", {"VpcId": remote_id})["Vpcs"]["Vpc"], "VpcId", remote_id)

    def made_for(self, cloud, row):
        items = cloud.numbered_pages("Vpc", "DescribeVpcs", {"Tag": [{"Key": PORTAL_TAG, "Value": str(row.uuid)}]},
                               "Vpcs.Vpc")
        return tagged(self, items, row)

    def create(self, cloud, row, tags, token):
        params = _named({"CidrBlock": row.cidr_block, "Tag": tags, "ClientToken": token}, VpcName=row.name,
                        Description=row.description)
        return cloud.vpc("CreateVpc", params)["VpcId"]

    def delete(self, cloud, row, remote_id):
        cloud.vpc("DeleteVpc", {"VpcId": remote_id})

    def read_more(self, cloud, row, item):
        """The VRouter the cloud made with the VPC (a route entry is made on its table)."""
        routers = cloud.vpc("DescribeVRouters", {"VRouterId": item["VRouterId"]})["VRouters"]["VRouter"]
        return _first(routers, "VRouterId", item["VRouterId"])

    def finish(self, row, item, router):
        if router is None:
            return
        sync = Sync(row.data_center, None)
        V_ROUTERS.prepare(sync)
        AlibabaVRouter.objects.update_or_create(
            data_center=row.data_center, v_router_id=router["VRouterId"],
            defaults={"account_id": row.account_id, **V_ROUTERS.values(router, sync)})


    def forget_with(self, row):
        AlibabaRouteEntry.objects.filter(v_router__parent_vpc=row).delete()
        AlibabaVRouter.objects.filter(parent_vpc=row).delete()


class VSwitch(RemoteType):
    model, kind, what = AlibabaVSwitch, V_SWITCHES, "vSwitch"

    def describe(self, cloud, row, remote_id):
        return _first(cloud.vpc("DescribeVSwitches", {"VSwitchId": remote_id})["VSwitches"]["VSwitch"],
                      "VSwitchId", remote_id)

    def made_for(self, cloud, row):
        items = cloud.numbered_pages("Vpc", "DescribeVSwitches",
                               {"VpcId": row.vpc_id, "Tag": [{"Key": PORTAL_TAG, "Value": str(row.uuid)}]},
                               "VSwitches.VSwitch")
        return tagged(self, items, row)

    def create(self, cloud, row, tags, token):
        params = _named({"VpcId": row.vpc_id, "ZoneId": row.identity_zone.zone_id, "CidrBlock": row.cidr_block,
                         "Tag": tags, "ClientToken": token}, VSwitchName=row.name,
                        Description=row.description)
        return cloud.vpc("CreateVSwitch", params)["VSwitchId"]

    def delete(self, cloud, row, remote_id):
        cloud.vpc("DeleteVSwitch", {"VSwitchId": remote_id})


def _entry(item, row):
    """A DescribeRouteEntryList item read the way a sync reads DescribeRouteTables' (its first next
    hop as ``NextHopType``/``InstanceId``), in the row's table and VRouter."""
    hops = (item.get("NextHops") or {}).get("NextHop") or [{}]
    return {**item, "RouteTableId": row.route_table_id, "NextHopType": hops[0].get("NextHopType", ""),
            "InstanceId": hops[0].get("NextHopId", ""),
            "VRouterId": row.v_router.v_router_id if row.v_router_id else ""}


class RouteEntry(RemoteType):
    """A custom route entry. It has no tags: the one a create made is the entry of its table for
    its destination, which ``CheckRouteFree`` saw free before the create."""

    model, kind, what = AlibabaRouteEntry, ROUTE_ENTRIES, "route entry"
    moving = ("Pending", "Deleting")

    def entries(self, cloud, row, **params):
        body = cloud.vpc("DescribeRouteEntryList", {"RouteTableId": row.route_table_id, **params})
        return [_entry(item, row) for item in (body.get("RouteEntrys") or {}).get("RouteEntry") or []]

    def describe(self, cloud, row, remote_id):
        return _first(self.entries(cloud, row, RouteEntryId=remote_id), "RouteEntryId", remote_id)

    def made_for(self, cloud, row):
        return [item for item in self.entries(cloud, row, DestinationCidrBlock=row.destination_cidr_block)
                if item.get("Type") == "Custom"]

    def create(self, cloud, row, tags, token):
        params = _named({"RouteTableId": row.route_table_id, "DestinationCidrBlock": row.destination_cidr_block,
                         "NextHopType": row.next_hop_type, "NextHopId": row.next_hop_id, "ClientToken": token},
                        RouteEntryName=row.name, Description=row.description)
        return cloud.vpc("CreateRouteEntry", params)["RouteEntryId"]

    def delete(self, cloud, row, remote_id):
        cloud.vpc("DeleteRouteEntry", {"RouteEntryId": remote_id, "RouteTableId": row.route_table_id})


class CheckRouteFree(RemoteStep, NoRollback):
    """The route table has no entry for the destination yet (else the create would take another's
    entry for its own, and its rollback delete it)."""

    def run(self, ctx):
        row = row_of(ctx, ROUTE_ENTRY)
        taken = ROUTE_ENTRY.entries(cloud_of(ctx, ROUTE_ENTRY), row, DestinationCidrBlock=row.destination_cidr_block)
        if taken:
            raise Conflict(f"route table {row.route_table_id} has an entry for {row.destination_cidr_block} already "
                           f"({taken[0]['RouteEntryId']}); sync the data centre to see it",
                           code="ALIBABA_ROUTE_EXISTS", details={"route_entry_id": taken[0]["RouteEntryId"]})


VPC, V_SWITCH, ROUTE_ENTRY = Vpc(), VSwitch(), RouteEntry()

CREATE_VPC = Flow("create-alibaba-vpc", create_steps(VPC), action="create-alibaba-vpc", timeout=3600)
DELETE_VPC = Flow("delete-alibaba-vpc", delete_steps(VPC), action="delete-alibaba-vpc", timeout=3600)
CREATE_V_SWITCH = Flow("create-alibaba-v-switch", create_steps(V_SWITCH), action="create-alibaba-v-switch",
                       timeout=3600)
DELETE_V_SWITCH = Flow("delete-alibaba-v-switch", delete_steps(V_SWITCH), action="delete-alibaba-v-switch",
                       timeout=3600)
CREATE_ROUTE_ENTRY = Flow("create-alibaba-route-entry", create_steps(ROUTE_ENTRY, checks=[CheckRouteFree]),
                          action="create-alibaba-route-entry", timeout=3600)
DELETE_ROUTE_ENTRY = Flow("delete-alibaba-route-entry", delete_steps(ROUTE_ENTRY),
                          action="delete-alibaba-route-entry", timeout=3600)

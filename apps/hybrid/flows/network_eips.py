"""Elastic IP addresses allocated, associated with an ECS instance, disassociated and released (H4).

    associate:    BeginAssociate -> AssociateInCloud -> WaitEipInUse -> EndAssociate
    disassociate: BeginUnassociate -> UnassociateInCloud -> WaitEipAvailable -> EndUnassociate

A failure after the association undoes it in the cloud. The instance's row shows the address
(``eip_address``) once the cloud says it is in use, and not after it is let go.
Arguments: row_uuid; associate: ecs_instance_uuid.
"""
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from ..models import AlibabaEip, EcsInstance, NetworkState
from ..remote_kinds import EIPS, PORTAL_TAG
from .network_common import (RemoteType, cloud_of, create_steps, delete_steps, mirrored, row_of, save_fields, tagged,
                             wait_until)


class Eip(RemoteType):
    model, kind, what = AlibabaEip, EIPS, "EIP"
    moving = ("Associating", "Unassociating")

    def describe(self, cloud, row, remote_id):
        body = cloud.vpc("DescribeEipAddresses", {"AllocationId": remote_id})
        return next((e for e in body["EipAddresses"]["EipAddress"] if e["AllocationId"] == remote_id), None)

    def made_for(self, cloud, row):
        items = cloud.numbered_pages("Vpc", "DescribeEipAddresses",
                               {"Tag": [{"Key": PORTAL_TAG, "Value": str(row.uuid)}]}, "EipAddresses.EipAddress")
        return tagged(self, items, row)

    def create(self, cloud, row, tags, token):
        params = {"Bandwidth": str(row.bandwidth), "InternetChargeType": row.internet_charge_type,
                  "InstanceChargeType": "PostPaid", "Tag": tags, "ClientToken": token}
        if row.name:
            params["Name"] = row.name
        if row.description:
            params["Description"] = row.description
        return cloud.vpc("AllocateEipAddress", params)["AllocationId"]

    def delete(self, cloud, row, remote_id):
        cloud.vpc("ReleaseEipAddress", {"AllocationId": remote_id})


EIP = Eip()


def _instance(ctx):
    return EcsInstance.objects.get(uuid=ctx.args["ecs_instance_uuid"])


def _show_on_instance(instance_id, data_center_id, address):
    """The instance's row shows ``address`` as its EIP (a row a job holds is left to it: that job
    or the next sync writes what the cloud says)."""
    EcsInstance.objects.filter(data_center_id=data_center_id, instance_id=instance_id, busy_job=None).update(
        eip_address=address)


class BeginAssociate(DbStep):
    def run(self, ctx):
        save_fields(EIP, ctx.args["row_uuid"], "associating")

    def rollback(self, ctx):
        AlibabaEip.objects.filter(uuid=ctx.args["row_uuid"], state=NetworkState.ASSOCIATING).update(
            state=NetworkState.AVAILABLE)


class AssociateInCloud(RemoteStep):
    def run(self, ctx):
        row = row_of(ctx, EIP)
        cloud_of(ctx, EIP).vpc("AssociateEipAddress", {"AllocationId": row.allocation_id, "InstanceType": "EcsInstance",
                                                       "InstanceId": _instance(ctx).instance_id})

    def rollback(self, ctx):
        """Let the instance go again, once the cloud has finished associating it."""
        row, cloud = row_of(ctx, EIP), cloud_of(ctx, EIP)
        item = wait_until(ctx, EIP, cloud, row, row.allocation_id, ("Available", "InUse"), "settled")
        if item["Status"] == "InUse":
            cloud.vpc("UnassociateEipAddress", {"AllocationId": row.allocation_id, "InstanceId": item["InstanceId"]})
            wait_until(ctx, EIP, cloud, row, row.allocation_id, ("Available",), "Available")


class WaitStatus(RemoteStep, NoRollback):
    status = None

    def run(self, ctx):
        row = row_of(ctx, EIP)
        ctx.remote = wait_until(ctx, EIP, cloud_of(ctx, EIP), row, row.allocation_id, (self.status,), self.status)

    @classmethod
    def of(cls, status):
        return type(f"WaitEip{status}", (cls,), {"status": status})


class End(DbStep, NoRollback):
    """The row as the cloud describes the EIP, and the instance's row showing it (or not)."""

    event = None

    def run(self, ctx):
        row = row_of(ctx, EIP)
        save_fields(EIP, row.uuid, self.event, **mirrored(row, EIP, ctx.remote))
        row.refresh_from_db()
        if self.event == "in-use":
            _show_on_instance(row.instance_id, row.data_center_id, row.ip_address)
        else:
            _show_on_instance(ctx.get("instance_id_before"), row.data_center_id, "")
        ctx.result = {"uuid": str(row.uuid), "allocation_id": row.allocation_id, "state": row.state,
                      "instance_id": row.instance_id}

    @classmethod
    def of(cls, event, name):
        return type(name, (cls,), {"event": event})


class BeginUnassociate(DbStep):
    def run(self, ctx):
        ctx.instance_id_before = row_of(ctx, EIP).instance_id
        save_fields(EIP, ctx.args["row_uuid"], "unassociating")

    def rollback(self, ctx):
        AlibabaEip.objects.filter(uuid=ctx.args["row_uuid"], state=NetworkState.UNASSOCIATING).update(
            state=NetworkState.IN_USE)


class UnassociateInCloud(RemoteStep, NoRollback):
    def run(self, ctx):
        row = row_of(ctx, EIP)
        cloud_of(ctx, EIP).vpc("UnassociateEipAddress", {"AllocationId": row.allocation_id,
                                                         "InstanceId": row.instance_id})


ALLOCATE_EIP = Flow("allocate-alibaba-eip", create_steps(EIP), action="allocate-alibaba-eip", timeout=3600)
RELEASE_EIP = Flow("release-alibaba-eip", delete_steps(EIP), action="release-alibaba-eip", timeout=3600)
ASSOCIATE_EIP = Flow("associate-alibaba-eip", [BeginAssociate, AssociateInCloud, WaitStatus.of("InUse"),
                                               End.of("in-use", "EndAssociate")])
DISASSOCIATE_EIP = Flow("disassociate-alibaba-eip", [BeginUnassociate, UnassociateInCloud,
                                                     WaitStatus.of("Available"), End.of("available", "EndUnassociate")])

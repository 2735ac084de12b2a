from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction
from apps.core.api.viewsets import ReadOnlyQueryViewSet, ResourceViewSet, audit
from apps.core.errors import Conflict, InvalidArgument
from apps.core.tenancy import is_admin
from apps.infra.models import Cluster

from . import ipam
from .flows import ATTACH_L2, DELETE_L2, DELETE_L3, DETACH_L2
from .models import IpRange, L2Network, L3Network, UsedIp, UsedIpOwner
from .serializers import (ClusterRefSerializer, IpRangeSerializer, L2NetworkSerializer, L3NetworkSerializer,
                          UsedIpSerializer, check_against_ranges)


def _cluster_args(l2, data):
    cluster = Cluster.objects.filter(uuid=data["cluster_uuid"]).first()
    if cluster is None:
        raise InvalidArgument("cluster not found",
                              details={"cluster_uuid": [f"cluster {data['cluster_uuid']} not found."]})
    return {"l2_network_uuid": str(l2.uuid), "cluster_uuid": str(cluster.uuid)}


class L2NetworkViewSet(ResourceViewSet):
    """L2 networks (NoVlan). attach/detach run flows on the cluster's hosts (202 + job)."""

    queryset = L2Network.objects.all()
    joins, prefetches = ("zone",), ("clusters",)
    serializer_class = L2NetworkSerializer
    delete_flow = DELETE_L2
    flow_actions = {
        "attach": FlowAction(ATTACH_L2, body=ClusterRefSerializer, args=_cluster_args,
                             doc="Attach to a cluster: every connected host of it gets the bridge br_<interface>."),
        "detach": FlowAction(DETACH_L2, body=ClusterRefSerializer, args=_cluster_args,
                             doc="Detach from a cluster: the bridge (and DHCP servers on it) leave its connected "
                                 "hosts."),
    }


class L3NetworkViewSet(ResourceViewSet):
    queryset = L3Network.objects.all()
    joins = ("l2_network", "l2_network__zone")
    serializer_class = L3NetworkSerializer
    delete_flow = DELETE_L3

    @extend_schema(request=IpRangeSerializer, responses=IpRangeSerializer(many=True))
    @action(detail=True, methods=["get", "post"], url_path="ip-ranges")
    def ip_ranges(self, request, uuid=None):
        """GET: the L3's IP ranges. POST {start_ip, end_ip, netmask, gateway, name?}: add one (201)."""
        l3 = self.get_object()
        if request.method == "GET":
            rows = l3.ip_ranges.select_related("l3_network").order_by("start_int")
            return Response(IpRangeSerializer(rows, many=True, context=self.get_serializer_context()).data)
        serializer = IpRangeSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            locked = L3Network.objects.select_for_update().get(pk=l3.pk)
            check_against_ranges(locked, serializer.validated_data)
            ip_range = serializer.save(l3_network=locked)
        if l3.dhcp:
            ipam.ensure_dhcp_server_ip(l3)
        audit(request, action="l3-networks.add-ip-range", resource_type="IpRange", resource_uuid=ip_range.uuid)
        return Response(IpRangeSerializer(ip_range, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses=UsedIpSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="used-ips")
    def used_ips(self, request, uuid=None):
        """Addresses handed out in this L3: to an admin all of them (VM NICs and the DHCP server),
        to a normal account only its own VMs' addresses."""
        l3 = self.get_object()
        rows = l3.used_ips.select_related("l3_network", "ip_range").order_by("ip_int")
        if not is_admin(request.user):
            # another account's addresses would tell its VMs' uuids, IPs and MACs
            rows = rows.filter(owner_type=UsedIpOwner.VM_NIC, vm_nic__vm_instance__account_id=request.user.account_id)
        return Response(UsedIpSerializer(rows, many=True).data)


class IpRangeViewSet(ReadOnlyQueryViewSet, mixins.DestroyModelMixin):
    """All IP ranges (query DSL). DELETE removes one whose addresses are free (409 otherwise)."""

    queryset = IpRange.objects.all()
    joins = ("l3_network",)
    serializer_class = IpRangeSerializer

    def destroy(self, request, *args, **kwargs):
        ip_range = self.get_object()
        audit(request, action="ip-ranges.delete", resource_type="IpRange", resource_uuid=ip_range.uuid)
        l3 = ip_range.l3_network
        with transaction.atomic():
            L3Network.objects.select_for_update().get(pk=l3.pk)
            locked = IpRange.objects.select_for_update().get(pk=ip_range.pk)
            in_use = list(locked.used_ips.filter(owner_type=UsedIpOwner.VM_NIC).values_list("ip", flat=True)[:20])
            if in_use:
                raise Conflict(f"IP range {ip_range.name} has addresses in use ({', '.join(in_use)})",
                               code="IP_RANGE_IN_USE", details={"used_ips": in_use})
            dhcp_here = locked.used_ips.filter(owner_type=UsedIpOwner.DHCP_SERVER).first()
            if dhcp_here and UsedIp.objects.filter(l3_network=l3, owner_type=UsedIpOwner.VM_NIC).exists():
                raise Conflict(f"IP range {ip_range.name} holds the DHCP server address {dhcp_here.ip} that VMs of "
                               f"L3 network {l3.name} use", code="IP_RANGE_IN_USE", details={"used_ips": [dhcp_here.ip]})
            locked.delete()
        if l3.dhcp and dhcp_here:
            ipam.ensure_dhcp_server_ip(l3)  # moves to another range when there is one
        return Response(status=status.HTTP_204_NO_CONTENT)

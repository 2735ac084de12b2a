"""The hybrid API: /alibaba-access-keys/, /alibaba-data-centers/, /alibaba-identity-zones/,
/ecs-instances/. Changes in the cloud run as flows (202 + job); reads the cloud answers at once
(a key's regions and zones, an instance's description and VNC address) are asked synchronously."""
import re
import uuid as uuid_lib
from urllib.parse import quote

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowAction, FlowStart
from apps.core.api.viewsets import ReadOnlyQueryViewSet, ResourceViewSet, audit
from apps.core.errors import InvalidArgument
from apps.core.secrets import encrypt

from . import serializers as s
from .cloud import AlibabaError, Cloud
from .delete_here import DeleteHere
from .flows import CREATE_ECS_INSTANCE, CREATE_ECS_INSTANCE_WITH_EIP, SYNC_DATA_CENTER, plan_action
from .flows.common import describe
from .models import ECS_STATE_MACHINE, AlibabaAccessKey, AlibabaDataCenter, AlibabaIdentityZone, EcsInstance
from .periodic import last_sync

REGION_ID = re.compile(r"[a-z][a-z0-9-]{1,63}")


class AccessKeyViewSet(ResourceViewSet):
    """An account's Alibaba Cloud AccessKeys. The secret is written, never shown; a key is checked
    with the cloud when it is added. ``POST .../set-default/`` makes it the account's default."""

    queryset = AlibabaAccessKey.objects.select_related("account")
    serializer_class = s.AccessKeySerializer

    def perform_create(self, serializer):
        super().perform_create(serializer)
        key = serializer.instance
        if key.is_default or not AlibabaAccessKey.objects.filter(account_id=key.account_id, is_default=True).exists():
            key.make_default()   # the first key of an account is its default

    @action(detail=True, methods=["post"], url_path="set-default")
    def set_default(self, request, uuid=None):
        """Make this key its account's default (the one a data centre added without a key uses)."""
        key = self.get_object()
        audit(request, action="alibaba-access-keys.set-default", resource_type=key.resource_type(),
              resource_uuid=key.uuid)
        key.make_default()
        return Response(self.get_serializer(key).data)

    @extend_schema(responses=s.CloudRegionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def regions(self, request, uuid=None):
        """The regions Alibaba Cloud offers this key (asked now)."""
        return Response(s.regions_of(Cloud(self.get_object(), "cn-hangzhou")))

    @extend_schema(responses=s.CloudZoneSerializer(many=True),
                   parameters=[OpenApiParameter("region_id", str, required=True)])
    @action(detail=True, methods=["get"])
    def zones(self, request, uuid=None):
        """The zones of ``?region_id=`` (asked now)."""
        region = request.query_params.get("region_id", "").strip()
        # it names the real service's endpoint host (ecs.<region>.aliyuncs.com): a region's letters only
        if not REGION_ID.fullmatch(region):
            raise InvalidArgument("give ?region_id= (a region id such as cn-hangzhou)",
                                  details={"region_id": ["a region id: lower-case letters, digits and '-'"]})
        return Response(s.zones_of(Cloud(self.get_object(), region)))


class DataCenterViewSet(ResourceViewSet):
    """Alibaba Cloud regions added as data centres. Adding one syncs it (202 + job); ``POST
    .../sync/`` syncs it again; DELETE deletes it here with what was synced below it, nothing in
    the cloud."""

    queryset = AlibabaDataCenter.objects.select_related("access_key", "account").annotate(
        last_synced_at=last_sync("finished_at"))
    serializer_class = s.DataCenterSerializer
    create_serializer_class = s.DataCenterCreateSerializer
    flow_actions = {"sync": FlowAction(SYNC_DATA_CENTER, args=lambda dc, data: {"data_center_uuid": str(dc.uuid)},
                                       doc="Sync the data centre: its zones and ECS instances (202 + job).")}

    def start_create(self, data):
        job_uuid = uuid_lib.uuid4()
        key = data["access_key"]
        data_center = AlibabaDataCenter.objects.create(
            name=data["name"], description=data.get("description", ""), account_id=key.account_id, access_key=key,
            region_id=data["region_id"], local_name=data["local_name"], time_zone=data["time_zone"],
            busy_job=job_uuid)
        return [FlowStart(data_center, SYNC_DATA_CENTER, {"data_center_uuid": str(data_center.uuid)}, job_uuid)]


class IdentityZoneViewSet(ReadOnlyQueryViewSet):
    """The zones of the data centres, as their syncs found them (``state`` Deleted: gone in the cloud)."""

    queryset = AlibabaIdentityZone.objects.select_related("data_center", "account")
    serializer_class = s.IdentityZoneSerializer


def _ecs_action(name, body=None):
    # only what ``body`` validated reaches the job: a raw body could name another account's row
    return FlowAction(plan=lambda instance, data: plan_action(instance, name, data if body is not None else {}),
                      body=body,
                      doc=f"{name} the ECS instance in the cloud (a flow that waits for the state it leads to: "
                          "202 + job; 409 naming the state when not allowed).")


class EcsInstanceViewSet(DeleteHere, ResourceViewSet):
    """ECS instances of the data centres. Create (``count`` of them) and the actions run flows
    (202 + job); DELETE deletes the instance in the cloud, then here (one the cloud no longer has:
    here only)."""

    queryset = EcsInstance.objects.select_related("data_center", "identity_zone", "account")
    serializer_class = s.EcsInstanceSerializer
    create_serializer_class = s.EcsCreateSerializer
    flow_actions = {
        "start": _ecs_action("start"),
        "stop": _ecs_action("stop", s.ForceBody),
        "reboot": _ecs_action("reboot", s.ForceBody),
        "rename": _ecs_action("rename", s.RenameBody),
        "change-password": _ecs_action("change-password", s.PasswordBody),
        "charge-type": _ecs_action("charge-type", s.ChargeTypeBody),
        "vnc-password": _ecs_action("vnc-password", s.VncPasswordBody),
    }
    delete_action = _ecs_action("delete")

    def start_create(self, data):
        zone = data["identity_zone"]
        count = data["count"]
        args = {"run_params": s.run_params(data)}
        if data.get("eip_bandwidth"):
            args["eip_bandwidth"] = data["eip_bandwidth"]
        if data.get("password"):
            args["password"] = encrypt(data["password"])
        starts = []
        for index in range(count):
            job_uuid = uuid_lib.uuid4()
            name = data["name"] if count == 1 else f"{data['name']}-{index + 1}"
            row = EcsInstance.objects.create(
                name=name, description=data.get("description", ""), account_id=zone.data_center.account_id,
                data_center_id=zone.data_center_id, identity_zone=zone, instance_type=data["instance_type"],
                image_id=data["image_id"], instance_charge_type=data["instance_charge_type"],
                internet_charge_type=data["internet_charge_type"],
                internet_max_bandwidth_out=data["internet_max_bandwidth_out"], busy_job=job_uuid)
            params = {**args["run_params"], "InstanceName": name}
            flow = CREATE_ECS_INSTANCE_WITH_EIP if args.get("eip_bandwidth") else CREATE_ECS_INSTANCE
            starts.append(FlowStart(row, flow,
                                    {**args, "run_params": params, "instance_uuid": str(row.uuid)}, job_uuid))
        return starts

    @extend_schema(request=None, responses=s.VncUrlSerializer)
    @action(detail=True, methods=["post"], url_path="vnc-url")
    def vnc_url(self, request, uuid=None):
        """The instance's VNC address (the cloud gives one valid for 15 seconds), and the page of
        Alibaba's web VNC client that opens it with the VNC password (POST .../vnc-password/ sets it)."""
        instance = self.get_object()
        audit(request, action="ecs-instances.vnc-url", resource_type=instance.resource_type(),
              resource_uuid=instance.uuid)
        ECS_STATE_MACHINE.next(instance.state, "opening-vnc", action="vnc-url")
        body = Cloud.of(instance.data_center).ecs("DescribeInstanceVncUrl", {"InstanceId": instance.instance_id})
        vnc_url = body.get("VncUrl") or ""
        windows = "true" if "windows" in (instance.os_name or "").lower() else "false"
        console = (f"https://g.alicloud.com/i2/index.html?vncUrl={quote(vnc_url, safe='')}"
                   f"&instanceId={instance.instance_id}&isWindows={windows}")
        return Response({"vnc_url": vnc_url, "console_url": console})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def describe(self, request, uuid=None):
        """The instance as the cloud describes it now (its DescribeInstances item, the cloud's names)."""
        instance = self.get_object()
        if not instance.instance_id:
            raise InvalidArgument("the instance is still being created: it has no id in the cloud yet",
                                  code="ECS_NOT_CREATED")
        item = describe(Cloud.of(instance.data_center), instance.instance_id)
        if item is None:
            raise AlibabaError(f"Alibaba Cloud has no instance {instance.instance_id} (a sync will mark it Deleted)",
                               code="ALIBABA_NOT_FOUND", status=404, details={"instance_id": instance.instance_id})
        return Response(item)


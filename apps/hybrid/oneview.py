"""One view of local and cloud VMs (H12): every ECS instance is also a row of the VM list.

The mirror is a ``VmInstance`` of hypervisor type ``AlibabaCloud`` (no host; ``cloud_zone_id`` is
its identity zone), linked one-to-one from the ``EcsInstance`` (``vm_instance``). It is kept in
step from the ECS row's own saves (post_save/post_delete below): whatever writes the ECS row (a
flow's state change, a sync's import or update, a rename, a delete here or in the cloud) writes
the mirror in the same transaction, so no path can forget it. A sync that changes nothing saves
no ECS row, and so writes no mirror either.

The VM API hands what it cannot do for such a row to ``AlibabaVmCloud`` (compute's extension
point, apps/compute/vm_clouds.py): its actions start the ECS flows on the ECS row (the job holds
that row, as an action through /ecs-instances/ would), and a VM create placed in an identity
zone is mapped (models/oneview.py) and runs the create-ECS flow.
"""
import uuid as uuid_lib

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from rest_framework import serializers

from apps.compute import vm_clouds
from apps.compute.models import VmInstance, VmState
from apps.core.api.flowstarts import FlowStart
from apps.core.errors import CloudPortalError, ResourceBusy
from apps.core.flows import start_job
from apps.core.tenancy import visible

from .flows import CREATE_ECS_INSTANCE, plan_action
from .models import (AlibabaIdentityZone, EcsImageMapping, EcsInstance, EcsNetworkMapping, EcsOfferingMapping,
                     EcsState)
from .serializers import run_params

HYPERVISOR_TYPE = "AlibabaCloud"

# the VM state an ECS state shows as; one gone in the cloud (Deleted) is Unknown: not Destroyed,
# which compute's recycle bin would expunge on its own
VM_STATE = {
    EcsState.CREATING: VmState.CREATED, EcsState.PENDING: VmState.STARTING, EcsState.STARTING: VmState.STARTING,
    EcsState.RUNNING: VmState.RUNNING, EcsState.STOPPING: VmState.STOPPING, EcsState.STOPPED: VmState.STOPPED,
    EcsState.REBOOTING: VmState.REBOOTING, EcsState.DELETING: VmState.DESTROYING, EcsState.DELETED: VmState.UNKNOWN,
}

# the VM action -> the ECS action and the body it gets; power-off is a forced stop
ECS_ACTION = {"start": ("start", {}), "stop": ("stop", {"force": False}), "power-off": ("stop", {"force": True}),
              "reboot": ("reboot", None), "destroy": ("delete", {})}

# the ECS columns the mirror shows (a save touching none of them leaves the mirror alone)
MIRRORED = {"name", "description", "state", "cpu_num", "memory_size", "os_name", "identity_zone", "identity_zone_id"}

_zone_ids = {}   # identity zone pk -> its zone id: a zone's id never changes (it is its key in the sync)


def _zone_id(zone_pk):
    if zone_pk is None:
        return ""
    if zone_pk not in _zone_ids:
        _zone_ids[zone_pk] = AlibabaIdentityZone.objects.filter(pk=zone_pk).values_list("zone_id", flat=True).first()
    return _zone_ids[zone_pk] or ""


def mirror_values(row):
    """The VmInstance columns that show ECS row ``row``."""
    values = {"name": row.name[:255], "description": row.description,
              "state": VM_STATE.get(row.state, VmState.UNKNOWN), "cpu_num": row.cpu_num,
              "memory_size": row.memory_size, "cloud_zone_id": _zone_id(row.identity_zone_id)}
    if row.os_name:   # once the cloud named it (a VM created here has its image's platform until then)
        values["platform"] = "Windows" if "windows" in row.os_name.lower() else "Linux"
    return values


def mirror_new(sender, instance, **kwargs):
    """pre_save of an EcsInstance being inserted (a sync's import, an API create): its VM row first,
    so that the ECS row's INSERT carries the link (no UPDATE after it)."""
    if instance.pk is None and instance.vm_instance_id is None:
        vm = VmInstance.objects.create(account_id=instance.account_id, hypervisor_type=HYPERVISOR_TYPE,
                                       **mirror_values(instance))
        instance.vm_instance_id = vm.pk


def keep_mirror(sender, instance, created, update_fields=None, **kwargs):
    """post_save of an EcsInstance: make the VM row of one that has none (a row older than the
    one view, or whose VM row was deleted), or write what changed of it."""
    if created:
        return   # its VM row was made with it (mirror_new, or a VM create placed in a zone)
    if instance.vm_instance_id is None:
        vm = VmInstance.objects.create(account_id=instance.account_id, hypervisor_type=HYPERVISOR_TYPE,
                                       **mirror_values(instance))
        EcsInstance.objects.filter(pk=instance.pk).update(vm_instance=vm)
        instance.vm_instance_id = vm.pk
        return
    if update_fields is not None and not MIRRORED.intersection(update_fields):
        return
    # saved as a VM's change is (its change log, the console's live update), only what differs
    vm = VmInstance.objects.filter(pk=instance.vm_instance_id).first()
    if vm is None:
        return
    values = mirror_values(instance)
    changed = [column for column, value in values.items() if getattr(vm, column) != value]
    if changed:
        for column in changed:
            setattr(vm, column, values[column])
        vm.save(update_fields=[*changed, "updated_at"])


def drop_mirror(sender, instance, **kwargs):
    """post_delete of an EcsInstance: its VM row goes with it."""
    if instance.vm_instance_id is not None:
        VmInstance.objects.filter(pk=instance.vm_instance_id).delete()


def connect():
    pre_save.connect(mirror_new, sender=EcsInstance, dispatch_uid="hybrid-oneview-mirror-new")
    post_save.connect(keep_mirror, sender=EcsInstance, dispatch_uid="hybrid-oneview-mirror")
    post_delete.connect(drop_mirror, sender=EcsInstance, dispatch_uid="hybrid-oneview-mirror-delete")


class NotInCloud(CloudPortalError):
    status = 409
    code = "VM_ACTION_NOT_IN_CLOUD"


def _field_error(field, message):
    return serializers.ValidationError({field: [message]})


class AlibabaVmCloud(vm_clouds.VmCloud):
    hypervisor_type = HYPERVISOR_TYPE
    query_relations = ("ecs_instance",)   # q=ecs_instance.zone_id=cn-hangzhou-h, ecs_instance.region_id=...
    actions = tuple(ECS_ACTION)
    zone_list = "alibaba-identity-zones"
    zone_conditions = ("state=Available",)

    def zone_label(self, row):
        return f"Alibaba Cloud {row['zone_id']}" + (f" ({row['name']})" if row["name"] != row["zone_id"] else "")

    def start_action(self, vm, name, body, user):
        if name not in ECS_ACTION:
            raise NotInCloud(f"VM {vm.uuid} is an Alibaba Cloud ECS instance: {name} is not offered for it "
                             f"(it offers {', '.join(ECS_ACTION)})",
                             details={"action": name, "hypervisor_type": HYPERVISOR_TYPE})
        instance = EcsInstance.objects.filter(vm_instance=vm).first()
        if instance is None:
            raise NotInCloud(f"VM {vm.uuid} no longer stands for an ECS instance", details={"vm_uuid": str(vm.uuid)})
        action, data = ECS_ACTION[name]
        if data is None:
            data = {"force": bool((body or {}).get("force"))}
        flow, args = plan_action(instance, action, data)
        return start_job(flow, resource=instance, user=user, args=args)

    def update(self, vm, data, user):
        """The description is the portal's (as on /ecs-instances/); the name is the cloud's: it
        changes through the rename action, which renames the instance in the cloud."""
        with transaction.atomic():
            instance = EcsInstance.objects.select_for_update().filter(vm_instance=vm).first()
            if instance is None:
                raise NotInCloud(f"VM {vm.uuid} no longer stands for an ECS instance",
                                 details={"vm_uuid": str(vm.uuid)})
            if "name" in data and data["name"] != instance.name:
                raise NotInCloud(f"VM {vm.uuid} is ECS instance {instance.instance_id or instance.uuid}: its name is "
                                 f"the cloud's; rename it there (POST /api/v1/ecs-instances/{instance.uuid}/rename/)",
                                 details={"name": ["renamed in the cloud only"],
                                          "ecs_instance_uuid": str(instance.uuid)})
            if instance.busy_job:
                raise ResourceBusy(f"EcsInstance {instance.uuid} is busy with job {instance.busy_job}",
                                   details={"job_uuid": str(instance.busy_job)})
            if "description" in data and data["description"] != instance.description:
                instance.description = data["description"]
                instance.save(update_fields=["description", "updated_at"])

    def find_zone(self, uuid, user):
        zones = AlibabaIdentityZone.objects.select_related("data_center")
        if user is not None:
            zones = visible(zones, user)
        return zones.filter(uuid=uuid).first()

    def validate_create(self, data, zone, user):
        """Map the request's image, offering and (one) L3 network to the zone's ECS image,
        instance type, vSwitch and security group (``data["ecs"]``)."""
        if zone.state != "Available":
            raise _field_error("identity_zone_uuid", f"zone {zone.zone_id} is {zone.state}")
        if data["count"] > 100:
            raise _field_error("count", "at most 100 VMs at once in a cloud's zone")
        data_center = zone.data_center
        offering = data.get("instance_offering")
        if offering is None:
            raise _field_error("instance_offering_uuid", "a VM in a cloud's zone takes an instance offering "
                                                         "(mapped to an instance type), not cpu_num and memory_size")
        instance_type = EcsOfferingMapping.objects.filter(data_center=data_center, instance_offering=offering) \
            .values_list("instance_type", flat=True).first()
        if instance_type is None:
            raise _field_error("instance_offering_uuid", f"offering {offering.name} has no instance type in data "
                                                         f"centre {data_center.name}: map one "
                                                         "(POST /api/v1/ecs-offering-mappings/)")
        if zone.available_instance_types and instance_type not in zone.available_instance_types:
            raise _field_error("instance_offering_uuid", f"offering {offering.name} is mapped to {instance_type}, "
                                                         f"which zone {zone.zone_id} does not offer")
        image = data["image"]
        image_id = EcsImageMapping.objects.filter(data_center=data_center, image=image) \
            .values_list("ecs_image_id", flat=True).first()
        if image_id is None:
            raise _field_error("image_uuid", f"image {image.name} has no ECS image in data centre "
                                             f"{data_center.name}: map one (POST /api/v1/ecs-image-mappings/)")
        l3s = data.get("l3_network_uuids") or []
        if len(l3s) != 1:
            raise _field_error("l3_network_uuids", "a VM in a cloud's zone takes one L3 network (mapped to a "
                                                   "vSwitch and a security group)")
        network = EcsNetworkMapping.objects.filter(identity_zone=zone, l3_network__uuid=str(l3s[0])).first()
        if network is None:
            raise _field_error("l3_network_uuids", f"L3 network {l3s[0]} has no vSwitch in zone {zone.zone_id}: "
                                                   "map one (POST /api/v1/ecs-network-mappings/)")
        data["ecs"] = {"identity_zone": zone, "instance_type": instance_type, "image_id": image_id,
                       "v_switch_id": network.v_switch_id, "security_group_id": network.security_group_id,
                       "description": data.get("description", ""), "instance_charge_type": "PostPaid",
                       "internet_charge_type": "PayByTraffic", "internet_max_bandwidth_out": 0}
        return data

    def start_create(self, data, account):
        """An ECS row per VM (held by its create job) and its VM row (shown in the 202), made
        already linked: the VM keeps the local image and offering it was asked with."""
        ecs = data["ecs"]
        zone = ecs["identity_zone"]
        params = run_params(ecs)
        count = data["count"]
        starts = []
        for index in range(count):
            job_uuid = uuid_lib.uuid4()
            name = data["name"] if count == 1 else f"{data['name']}-{index + 1}"
            vm = VmInstance.objects.create(
                name=name, description=data.get("description", ""), account_id=zone.data_center.account_id,
                hypervisor_type=HYPERVISOR_TYPE, state=VmState.CREATED, cpu_num=data["cpu_num"],
                memory_size=data["memory_size"], image=data["image"], instance_offering=data["instance_offering"],
                platform=data.get("platform") or data["image"].platform or "Linux", cloud_zone_id=zone.zone_id)
            row = EcsInstance.objects.create(
                name=name[:128], description=data.get("description", ""), account_id=zone.data_center.account_id,
                data_center_id=zone.data_center_id, identity_zone=zone, instance_type=ecs["instance_type"],
                image_id=ecs["image_id"], cpu_num=data["cpu_num"], memory_size=data["memory_size"],
                v_switch_id=ecs["v_switch_id"], security_group_ids=[ecs["security_group_id"]],
                instance_charge_type=ecs["instance_charge_type"], internet_charge_type=ecs["internet_charge_type"],
                vm_instance=vm, busy_job=job_uuid)
            args = {"run_params": {**params, "InstanceName": name[:128]}, "instance_uuid": str(row.uuid)}
            starts.append(FlowStart(row, CREATE_ECS_INSTANCE, args, job_uuid, shown=vm))
        return starts


def register():
    connect()
    vm_clouds.register(AlibabaVmCloud())

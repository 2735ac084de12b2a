"""What the VM API asks of compute beyond one row: the VMs a create makes (one, or a batch with
``count``), where they would go, and destroying many at once."""
import uuid as uuid_lib

from apps.core.errors import CloudPortalError
from apps.core.flows import start_job

from . import vm_clouds
from .console.password import generate_password
from .guest import create_fields as guest_create_fields
from .models import VmInstance


def create_args(data):
    """The create flow's arguments (JSON) from a validated create request (VmCreateSerializer)."""
    return {
        "cpu_num": data["cpu_num"], "memory_size": data["memory_size"], "image_uuid": str(data["image"].uuid),
        "l3_network_uuids": [str(u) for u in data["l3_network_uuids"]],
        "static_ips": {str(k): v for k, v in data.get("static_ips", {}).items()},
        "zone_uuid": str(data["zone"].uuid) if data.get("zone") else None,
        "cluster_uuid": str(data["cluster"].uuid) if data.get("cluster") else None,
        "host_uuid": str(data["host"].uuid) if data.get("host") else None,
        "root_disk_size": data.get("root_disk_size"),
        "strategy": data.get("allocator_strategy") or "DefaultHostAllocatorStrategy",
        "start": data.get("start", True),
        "primary_storage_uuid": str(data["primary_storage_uuid"]) if data.get("primary_storage_uuid") else None,
        "primary_storage_type": data.get("primary_storage_type") or None,
        **guest_create_fields.flow_args(data),
    }


def new_vms(data, account):
    """The VMs a create request asks for, ``count`` of them (named ``name-1``, ``name-2``... when
    more than one): ``[(vm, job_uuid, create flow args)]``. Each row is inserted already claimed by
    the job that will create it (``busy_job``), so the caller starts those jobs in the same
    transaction and there is never a VM without the job that creates it."""
    args = create_args(data)
    count = data["count"]
    made = []
    for index in range(count):
        job_uuid = uuid_lib.uuid4()
        vm = VmInstance.objects.create(
            name=data["name"] if count == 1 else f"{data['name']}-{index + 1}", description=data.get("description", ""),
            account=account, cpu_num=args["cpu_num"], memory_size=args["memory_size"], image=data["image"],
            instance_offering=data.get("instance_offering"),
            platform=data.get("platform") or data["image"].platform or "Linux", allocator_strategy=args["strategy"],
            console_password=generate_password(), busy_job=job_uuid, ha_level=data.get("ha_level"),
            **guest_create_fields.row_fields(data, index + 1 if count > 1 else None))
        made.append((vm, job_uuid, {**args, "vm_uuid": str(vm.uuid)}))
    return made


def placement(data):
    """Where a create request's VM would go (host, primary storage, addresses), changing nothing;
    the error the create would fail with otherwise (422 when nothing fits)."""
    from .flows.vm_create import dry_run

    return {"placement": dry_run(create_args(data))}


def start_action(vm, name, body, user):
    """Start VM action ``name`` (``body``: its request's) on ``vm``: the local flow, or for a VM of a
    public cloud the flow its cloud's app starts (``vm_clouds``); the Job. The one way in for the
    API's actions, its batch destroy and the schedules."""
    from .flows.vm_lifecycle import plan_action

    cloud = vm_clouds.cloud_of(vm)
    if cloud is not None:
        return cloud.start_action(vm, name, body, user)
    flow, args = plan_action(vm, name, body)
    return start_job(flow, resource=vm, user=user, args=args)


def destroy_many(uuids, visible_vms, user):
    """Start destroying each VM of ``uuids`` found among ``visible_vms`` (a job each): ``(jobs,
    refused)``, the refused as ``{"uuid", "code", "message"}``."""
    if not isinstance(uuids, list) or not uuids or len(uuids) > 1000:
        raise CloudPortalError("give uuids: a list of 1 to 1000 VM uuids", code="INVALID_ARGUMENT",
                               details={"uuids": ["required"]})
    jobs, refused = [], []
    for uuid in uuids:
        vm = visible_vms.filter(uuid=str(uuid)).first() if _is_uuid(uuid) else None
        if vm is None:
            refused.append({"uuid": str(uuid), "code": "NOT_FOUND", "message": f"VM {uuid} not found"})
            continue
        try:
            jobs.append(start_action(vm, "destroy", {}, user))
        except CloudPortalError as exc:
            refused.append({"uuid": str(uuid), **exc.as_dict()})
    return jobs, refused


def _is_uuid(value):
    try:
        uuid_lib.UUID(str(value))
        return True
    except ValueError:
        return False

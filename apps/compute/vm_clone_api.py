"""``POST /api/v1/vm-instances/<uuid>/clone/`` and ``.../reinit/``: request bodies and what they start.

Clone makes one VM row per clone, each inserted already claimed by the job that fills it (as a
batch create does), and answers 202 with the jobs and the new VMs; ``dry_run`` answers where they
would go. Reinit is a flow on the VM itself (202 + job). Who may: whoever sees the VM (tenancy:
another account's VM is a 404); the clones belong to the caller's account.
"""
import uuid as uuid_lib

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.api.flowstarts import FlowStart, truthy

from .console.password import generate_password
from .flows.vm_clone import CLONE_VM, check_clonable, dry_run, source_host, source_l3_uuids, source_volumes
from .flows.vm_reinit import REINIT_ROOT_VOLUME, check_reinit
from .models import VmInstance, VmState

MAX_CLONES = 100


class VmCloneSerializer(serializers.Serializer):
    names = serializers.ListField(child=serializers.CharField(max_length=255), required=False, min_length=1,
                                  max_length=MAX_CLONES, help_text="one clone per name")
    count = serializers.IntegerField(required=False, min_value=1, max_value=MAX_CLONES,
                                     help_text="or this many clones, named <source>-clone-1, -2...")
    host_uuid = serializers.UUIDField(required=False, help_text="local storage: only the source's host; shared: "
                                                                  "any host that mounts the source's storage")
    start = serializers.BooleanField(required=False, default=True, help_text="start each clone once made")
    dry_run = serializers.BooleanField(required=False, default=False, help_text="only answer the placement")

    def validate(self, data):
        if ("names" in data) == ("count" in data):
            raise serializers.ValidationError({"names": ["give names or count (one of them)"]})
        return data


class VmCloneFormSerializer(serializers.Serializer):
    """The console's Clone form: how many, started or not (the API takes names too)."""

    count = serializers.IntegerField(min_value=1, max_value=MAX_CLONES, default=1,
                                     help_text=_("named <source>-clone-1, -2..."))
    start = serializers.BooleanField(required=False, default=True)


def clone_names(source, data):
    if "names" in data:
        return list(data["names"])
    return [f"{source.name}-clone-{index + 1}" for index in range(data["count"])]


def clone(view, request, source):
    body = VmCloneSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    names = clone_names(source, data)
    host_uuid = str(data["host_uuid"]) if data.get("host_uuid") else None
    if data["dry_run"] or truthy(request.query_params.get("dry_run", "false")):   # body or ?dry_run=true
        return Response(dry_run(source, names, host_uuid))
    check_clonable(source)                          # 409 naming the state, before anything is made
    source_host(source, source_volumes(source))     # 409 when its host cannot be reached
    args = {"source_vm_uuid": str(source.uuid), "cpu_num": source.cpu_num, "memory_size": source.memory_size,
            "l3_network_uuids": source_l3_uuids(source), "static_ips": {}, "host_uuid": host_uuid,
            "start": data["start"]}

    def starts():
        made = []
        for name in names:
            job_uuid = uuid_lib.uuid4()
            vm = VmInstance.objects.create(
                name=name, description=f"clone of {source.name}", account=request.user.account,
                cpu_num=source.cpu_num, memory_size=source.memory_size, image=source.image,
                instance_offering=source.instance_offering, platform=source.platform,
                allocator_strategy=source.allocator_strategy, console_password=generate_password(),
                state=VmState.CREATED, busy_job=job_uuid)
            made.append(FlowStart(vm, CLONE_VM, {**args, "vm_uuid": str(vm.uuid)}, job_uuid))
        return made

    return view.start_flows(starts)


def reinit(view, request, vm):
    check_reinit(vm)   # 409 naming the state before the job starts; the flow checks again
    return view.start_flow(REINIT_ROOT_VOLUME, vm, {"vm_uuid": str(vm.uuid)})

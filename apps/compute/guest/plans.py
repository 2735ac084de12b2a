"""The API's guest-setting actions on a VM: their bodies, the checks made before a job starts
(409 naming the state, 400 naming the field), and the flow each starts."""
import re

from rest_framework import serializers
from rest_framework.utils import html

from apps.core.api.flowstarts import FlowAction
from apps.core.api.serializers import column_range
from apps.core.errors import CloudPortalError, InvalidArgument, InvalidState
from apps.core.secrets import encrypt
from apps.storage.models import Image, ImageFormat, Volume

from ..flows import guest as flows
from ..flows.guest_cloud_init import SET_CLOUD_INIT
from ..models import VmInstance, VmNic, VmState

BOOT_DEVICES = ("hd", "cdrom", "network")
HOSTNAME_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
SSH_KEY_RE = re.compile(r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$")


def most(model, field):
    """The largest value ``model.field``'s column holds (a serializer's max_value)."""
    return column_range(model._meta.get_field(field))[1]


VIDEO_TYPES = ("vga", "qxl", "cirrus", "virtio")
LIVE_STATES = (VmState.RUNNING, VmState.STOPPED)


def _state(vm, allowed=LIVE_STATES):
    if vm.state not in allowed:
        raise InvalidState(f"VM {vm.name} is {vm.state}: it must be {' or '.join(allowed)}",
                           details={"state": vm.state})
    if vm.root_volume_id is None or vm.cloud_zone_id:
        raise CloudPortalError("only a local VM with a root volume has these guest settings", code="NOT_A_LOCAL_VM",
                               status=409)


class VmAttachIsoBody(serializers.Serializer):
    image_uuid = serializers.UUIDField()


class VmBootOrderBody(serializers.Serializer):
    boot_order = serializers.ListField(child=serializers.ChoiceField(choices=BOOT_DEVICES), min_length=1,
                                       max_length=3)


class VmPasswordBody(serializers.Serializer):
    user = serializers.CharField(max_length=64, default="root")
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})


class VmCpuMemoryBody(serializers.Serializer):
    cpu_num = serializers.IntegerField(min_value=1, max_value=1024, required=False)
    memory_size = serializers.IntegerField(min_value=16 * 1024 * 1024, max_value=most(VmInstance, "memory_size"),
                                           required=False, help_text="bytes")


class VmQosBody(serializers.Serializer):
    """One volume's limits and one NIC's, flat (a console form as much as an API body): without
    ``volume_uuid`` the limits are the root volume's; without ``nic_uuid`` the VM's only NIC's."""

    volume_uuid = serializers.UUIDField(required=False, help_text="default: the root volume")
    iops_limit = serializers.IntegerField(min_value=0, max_value=most(Volume, "iops_limit"), required=False,
                                          help_text="0: no limit")
    bandwidth_limit = serializers.IntegerField(min_value=0, max_value=most(Volume, "bandwidth_limit"), required=False,
                                               help_text="bytes/s; 0: no limit")
    nic_uuid = serializers.UUIDField(required=False, help_text="default: the VM's NIC when it has one")
    inbound_bandwidth = serializers.IntegerField(min_value=0, max_value=most(VmNic, "inbound_bandwidth"),
                                                 required=False, help_text="bytes/s; 0: no limit")
    outbound_bandwidth = serializers.IntegerField(min_value=0, max_value=most(VmNic, "outbound_bandwidth"),
                                                  required=False, help_text="bytes/s; 0: no limit")


def plan_attach_iso(vm, data):
    _state(vm)
    image = Image.objects.filter(uuid=data["image_uuid"]).first()
    if image is None or image.format != ImageFormat.ISO:
        raise InvalidArgument("image_uuid must name an ISO image", details={"image_uuid": ["not an ISO image"]})
    if image.status != "Ready" or image.state != "Enabled":
        raise InvalidState(f"image {image.name} is {image.status}/{image.state}", code="IMAGE_NOT_READY",
                           details={"image_uuid": str(image.uuid)})
    if vm.state == VmState.RUNNING and not vm.has_cdrom:
        # QEMU cannot hot-plug a SATA drive: the first one comes with a (re)start
        raise InvalidState(f"VM {vm.name} has no ISO drive yet: attach the ISO while it is Stopped",
                           code="CDROM_NOT_PRESENT", details={"state": vm.state})
    return flows.ATTACH_ISO, {"vm_uuid": str(vm.uuid), "image_uuid": str(image.uuid)}


def plan_detach_iso(vm, data):
    _state(vm)
    if not vm.cdrom_image_id and not vm.cdrom_cache_id:
        raise InvalidState(f"VM {vm.name} has no ISO attached", code="NO_ISO_ATTACHED", details={"state": vm.state})
    return flows.DETACH_ISO, {"vm_uuid": str(vm.uuid)}


def plan_boot_order(vm, data):
    _state(vm)
    order = list(dict.fromkeys(data["boot_order"]))
    if "cdrom" in order and not vm.has_cdrom:
        raise InvalidArgument("the VM has no ISO drive to boot from: attach an ISO first",
                              details={"boot_order": ["cdrom needs an ISO drive"]})
    return flows.SET_BOOT_ORDER, {"vm_uuid": str(vm.uuid), "fields": {"boot_order": ",".join(order)}}


def plan_password(vm, data):
    _state(vm, (VmState.RUNNING,))
    return flows.CHANGE_PASSWORD, {"vm_uuid": str(vm.uuid), "user": data["user"], "password": encrypt(data["password"])}


def plan_cpu_memory(vm, data):
    _state(vm)
    if "cpu_num" not in data and "memory_size" not in data:
        raise InvalidArgument("give cpu_num, memory_size or both", details={"cpu_num": ["required"]})
    if vm.state == VmState.RUNNING:
        for field, limit in (("cpu_num", vm.cpu_max or vm.cpu_num), ("memory_size", vm.memory_max or vm.memory_size)):
            if field in data and data[field] > limit:
                maximum = "cpu_max" if field == "cpu_num" else "memory_max"
                raise InvalidArgument(f"{field} {data[field]} is above the VM's {maximum} ({limit}): a running VM "
                                      "grows only up to it (stop it to go further)", code="ABOVE_VM_MAXIMUM",
                                      details={field: [f"at most {limit} while running"]})
    return flows.SET_CPU_MEMORY, {"vm_uuid": str(vm.uuid), **{k: data[k] for k in ("cpu_num", "memory_size")
                                                                if k in data}}


VOLUME_LIMITS, NIC_LIMITS = ("iops_limit", "bandwidth_limit"), ("inbound_bandwidth", "outbound_bandwidth")


def plan_qos(vm, data):
    _state(vm)
    volume_limits = {k: data[k] for k in VOLUME_LIMITS if k in data}
    nic_limits = {k: data[k] for k in NIC_LIMITS if k in data}
    if not volume_limits and not nic_limits:
        raise InvalidArgument("give a volume's limits, a NIC's bandwidth or both",
                              details={"iops_limit": ["give iops_limit, bandwidth_limit, inbound_bandwidth or "
                                                      "outbound_bandwidth"]})
    volumes, nics = {}, {}
    if volume_limits:
        volume_uuid = str(data.get("volume_uuid") or vm.root_volume.uuid)
        if not Volume.objects.filter(uuid=volume_uuid, vm_instance_uuid=vm.uuid).exists():
            raise InvalidArgument(f"volume {volume_uuid} is not a volume of this VM",
                                  details={"volume_uuid": [f"{volume_uuid} is not attached to the VM"]})
        volumes[volume_uuid] = volume_limits
    if nic_limits:
        mine = [str(u) for u in VmNic.objects.filter(vm_instance=vm).values_list("uuid", flat=True)]
        nic_uuid = str(data["nic_uuid"]) if data.get("nic_uuid") else (mine[0] if len(mine) == 1 else None)
        if nic_uuid is None or nic_uuid not in mine:
            raise InvalidArgument("nic_uuid must name one of the VM's NICs" if data.get("nic_uuid") else
                                  "the VM has several NICs: give nic_uuid", details={"nic_uuid": ["not the VM's NIC"]})
        nics[nic_uuid] = nic_limits
    return flows.SET_QOS, {"vm_uuid": str(vm.uuid), "volumes": volumes, "nics": nics}


class VmCloudInitBody(serializers.Serializer):
    """Any of the three; what is left out stays. The checks are the create request's."""

    hostname = serializers.CharField(max_length=63, required=False, allow_blank=True,
                                     help_text="blank: from the VM's name")
    ssh_keys = serializers.ListField(child=serializers.CharField(max_length=16384), required=False, max_length=32,
                                     help_text="replaces the VM's keys")
    user_data = serializers.CharField(max_length=65536, required=False, allow_blank=True, trim_whitespace=False,
                                      help_text="cloud-init user data", style={"base_template": "textarea.html"})

    def to_internal_value(self, data):
        # the console's form posts every field: there a blank one keeps the VM's value (the API's
        # JSON leaves a field out for that, and "" clears it)
        if html.is_html_input(data):
            # a file posted under a field's name is no text: kept, for the field's own 400
            def given(value):
                return not isinstance(value, str) or bool(value.strip())

            data = {key: [v for v in data.getlist(key) if given(v)] if key == "ssh_keys" else data.get(key)
                    for key in data if any(given(value) for value in data.getlist(key))}
            if isinstance(data.get("user_data"), str):   # a browser's textarea sends CRLF line ends
                data["user_data"] = data["user_data"].replace("\r\n", "\n")
        return super().to_internal_value(data)

    def validate(self, data):
        if not data:
            raise serializers.ValidationError({"hostname": ["give hostname, ssh_keys, user_data or several"]})
        if data.get("hostname") and not HOSTNAME_RE.match(data["hostname"]):
            raise serializers.ValidationError({"hostname": ["letters, digits and '-', 1 to 63 characters"]})
        if any(not SSH_KEY_RE.match(key.strip()) for key in data.get("ssh_keys", [])):
            raise serializers.ValidationError(
                {"ssh_keys": ["each key as in authorized_keys: type, base64 body, optional comment"]})
        return data


def plan_cloud_init(vm, data):
    _state(vm, (VmState.STOPPED,))
    args = {"vm_uuid": str(vm.uuid)}
    if "hostname" in data:
        args["hostname"] = data["hostname"]
    if "ssh_keys" in data:
        args["ssh_keys"] = "\n".join(k.strip() for k in data["ssh_keys"])
    if "user_data" in data:
        args["user_data"] = encrypt(data["user_data"])
    return SET_CLOUD_INIT, args


GUEST_ACTIONS = {
    "attach-iso": FlowAction(plan=plan_attach_iso, body=VmAttachIsoBody,
                             doc="Put an ISO image in the VM's drive (live when it runs; 202 + job)."),
    "detach-iso": FlowAction(plan=plan_detach_iso, doc="Eject the VM's ISO (live when it runs; 202 + job)."),
    "set-boot-order": FlowAction(plan=plan_boot_order, body=VmBootOrderBody,
                                 doc="Boot order (hd, cdrom, network): from the VM's next boot (202 + job)."),
    "change-password": FlowAction(plan=plan_password, body=VmPasswordBody,
                                  doc="Set a guest user's password through the QEMU guest agent (running VM; the "
                                      "job fails with GUEST_AGENT_UNAVAILABLE when no agent answers)."),
    "set-cpu-memory": FlowAction(plan=plan_cpu_memory, body=VmCpuMemoryBody,
                                 doc="vCPUs and memory: live within cpu_max/memory_max, or any size when stopped "
                                     "(202 + job; the host's capacity follows)."),
    "set-qos": FlowAction(plan=plan_qos, body=VmQosBody,
                          doc="Disk IOPS/bandwidth per volume and in/out bandwidth per NIC (live when it runs)."),
    "set-cloud-init": FlowAction(plan=plan_cloud_init, body=VmCloudInitBody,
                                 doc="Hostname, SSH keys and cloud-init user data of a stopped VM: its config drive "
                                     "is rebuilt, applied at its next boot (202 + job)."),
}

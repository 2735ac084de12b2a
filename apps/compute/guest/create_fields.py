"""The guest-setting fields of ``POST /vm-instances/`` (VmCreateSerializer inherits them): their
checks, and what they put on the VM row and in the create flow's args."""
from rest_framework import serializers

from apps.storage.models import ImageFormat, Volume

from ..models import VmInstance, VmNic
from .plans import BOOT_DEVICES, HOSTNAME_RE, SSH_KEY_RE, VIDEO_TYPES, most


class GuestCreateFields(serializers.Serializer):
    """The create request's guest-setting fields; VmCreateSerializer inherits them."""

    cpu_max = serializers.IntegerField(min_value=1, max_value=1024, required=False,
                                       help_text="vCPUs the VM may grow to while running")
    memory_max = serializers.IntegerField(min_value=16 * 1024 * 1024, max_value=most(VmInstance, "memory_max"),
                                          required=False, help_text="bytes the VM may grow to while running")
    boot_order = serializers.ListField(child=serializers.ChoiceField(choices=BOOT_DEVICES), required=False,
                                       min_length=1, max_length=3)
    video_type = serializers.ChoiceField(choices=VIDEO_TYPES, required=False, default="vga")
    guest_agent = serializers.BooleanField(required=False, default=False)
    hostname = serializers.CharField(max_length=63, required=False, allow_blank=True, default="")
    user_data = serializers.CharField(max_length=65536, required=False, allow_blank=True, default="",
                                      trim_whitespace=False, help_text="cloud-init user data",
                                      style={"base_template": "textarea.html"})
    ssh_keys = serializers.ListField(child=serializers.CharField(max_length=16384), required=False, default=list,
                                     max_length=32)
    root_iops_limit = serializers.IntegerField(min_value=0, max_value=10 ** 7, required=False, default=0)
    root_bandwidth_limit = serializers.IntegerField(min_value=0, max_value=most(Volume, "bandwidth_limit"),
                                                    required=False, default=0, help_text="bytes/s")
    inbound_bandwidth = serializers.IntegerField(min_value=0, max_value=most(VmNic, "inbound_bandwidth"),
                                                 required=False, default=0, help_text="bytes/s")
    outbound_bandwidth = serializers.IntegerField(min_value=0, max_value=most(VmNic, "outbound_bandwidth"),
                                                  required=False, default=0, help_text="bytes/s")


def validate(data):
    errors = {}
    for field, current in (("cpu_max", "cpu_num"), ("memory_max", "memory_size")):
        if data.get(field) is not None and data[field] < data[current]:
            errors[field] = [f"must be at least {current} ({data[current]})"]
    if data.get("hostname") and not HOSTNAME_RE.match(data["hostname"]):
        errors["hostname"] = ["letters, digits and '-', 1 to 63 characters"]
    bad = [key for key in data.get("ssh_keys", []) if not SSH_KEY_RE.match(key.strip())]
    if bad:
        errors["ssh_keys"] = ["each key as in authorized_keys: type, base64 body, optional comment"]
    image = data.get("image")
    if image is not None and image.format == ImageFormat.ISO and not data.get("root_disk_size"):
        errors["root_disk_size"] = ["an ISO image installs onto a blank root volume: give its size in bytes"]
    if errors:
        raise serializers.ValidationError(errors)
    return data


def is_iso(data):
    return data.get("image") is not None and data["image"].format == ImageFormat.ISO


def wants_config_drive(data):
    return bool(data.get("user_data") or data.get("ssh_keys") or data.get("hostname"))


def row_fields(data, number=None):
    """VmInstance columns of a create (``number``: the VM's of a batch, whose hostname gets it as
    the names do: web-1, web-2...)."""
    hostname = data.get("hostname", "")
    if hostname and number is not None:
        suffix = f"-{number}"
        hostname = hostname[:63 - len(suffix)] + suffix
    boot = data.get("boot_order") or (["cdrom", "hd"] if is_iso(data) else [])
    return {"cpu_max": data.get("cpu_max"), "memory_max": data.get("memory_max"),
            "boot_order": ",".join(dict.fromkeys(boot)), "video_type": data.get("video_type") or "vga",
            "guest_agent": bool(data.get("guest_agent")), "has_cdrom": is_iso(data) or "cdrom" in boot,
            "cdrom_image": data["image"] if is_iso(data) else None, "hostname": hostname,
            "user_data": data.get("user_data", ""), "ssh_keys": "\n".join(k.strip() for k in data.get("ssh_keys", []))}


def flow_args(data):
    return {"install_iso": is_iso(data), "config_drive": wants_config_drive(data),
            **{k: data.get(k) or 0 for k in ("root_iops_limit", "root_bandwidth_limit", "inbound_bandwidth",
                                             "outbound_bandwidth")}}

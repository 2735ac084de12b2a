"""Zones, clusters and hosts in the API."""
import ipaddress
import re

from apps.core.api.fields import UuidRelatedField
from apps.core.api.serializers import ResourceSerializer
from rest_framework import serializers

from .models import Cluster, Host, Zone

HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def valid_address(value):
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(HOSTNAME_RE.match(value)) and not value.replace(".", "").isdigit()


class ZoneSerializer(ResourceSerializer):
    class Meta(ResourceSerializer.Meta):
        model = Zone
        fields = ResourceSerializer.Meta.fields + ["state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]


class ClusterSerializer(ResourceSerializer):
    zone_uuid = UuidRelatedField(source="zone", queryset=Zone.objects.all())
    hypervisor_type = serializers.ChoiceField(choices=Cluster._meta.get_field("hypervisor_type").choices)

    class Meta(ResourceSerializer.Meta):
        model = Cluster
        fields = ResourceSerializer.Meta.fields + ["zone_uuid", "hypervisor_type", "state"]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + ["state"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # a cluster does not move between zones or change type
            fields["zone_uuid"].read_only = True
            fields["hypervisor_type"].read_only = True
        return fields


class HostSerializer(ResourceSerializer):
    cluster_uuid = UuidRelatedField(source="cluster", queryset=Cluster.objects.all())
    hypervisor_type = serializers.ChoiceField(choices=Cluster._meta.get_field("hypervisor_type").choices)
    management_ip = serializers.CharField(max_length=255, required=False)
    password = serializers.CharField(write_only=True, required=False, allow_blank=False,
                                     style={"input_type": "password"})
    private_key = serializers.CharField(write_only=True, required=False, allow_blank=False)
    cpu_num = serializers.IntegerField(min_value=1, max_value=4096, required=False)
    memory_size = serializers.IntegerField(min_value=64 * 1024 * 1024, required=False,
                                           help_text="bytes (Simulator hosts)")
    total_cpu = serializers.IntegerField(read_only=True)
    available_cpu = serializers.IntegerField(read_only=True)
    total_memory = serializers.IntegerField(read_only=True)
    available_memory = serializers.IntegerField(read_only=True)

    class Meta(ResourceSerializer.Meta):
        model = Host
        fields = ResourceSerializer.Meta.fields + [
            "cluster_uuid", "hypervisor_type", "management_ip", "ssh_port", "username", "password",
            "private_key", "agent_port", "agent_version", "status", "state", "cpu_num", "memory_size",
            "total_cpu", "available_cpu", "total_memory", "available_memory", "used_cpu", "used_memory",
            "reserved_cpu", "reserved_memory", "facts", "last_ping_at",
        ]
        read_only_fields = ResourceSerializer.Meta.read_only_fields + [
            "agent_version", "status", "state", "used_cpu", "used_memory", "facts", "last_ping_at"]
        # how the portal reaches and logs in to the host, and what its agent reported about it
        admin_only_fields = ["management_ip", "ssh_port", "username", "agent_port", "agent_version", "facts"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # identity and address do not change after the add
            for name in ("cluster_uuid", "hypervisor_type", "management_ip", "ssh_port", "username",
                         "password", "private_key", "agent_port", "cpu_num", "memory_size"):
                fields[name].read_only = True
        return fields

    def validate(self, data):
        if self.instance is not None:
            return data
        kind = data.get("hypervisor_type")
        cluster = data.get("cluster")
        if cluster is not None and cluster.hypervisor_type != kind:
            raise serializers.ValidationError(
                {"hypervisor_type": [f"cluster {cluster.name} is a {cluster.hypervisor_type} cluster"]})
        if kind == "Simulator":
            missing = [f for f in ("cpu_num", "memory_size") if f not in data]
            if missing:
                raise serializers.ValidationError({f: ["This field is required for Simulator hosts."] for f in missing})
        elif kind == "KVM":
            self._validate_kvm(data)
        return data

    def _validate_kvm(self, data):
        errors = {}
        address = (data.get("management_ip") or "").strip()
        if not address:
            errors["management_ip"] = ["This field is required for KVM hosts."]
        elif not valid_address(address):
            errors["management_ip"] = [f"{address!r} is neither an IP address nor a host name."]
        else:
            data["management_ip"] = address
        given = [f for f in ("password", "private_key") if data.get(f)]
        if len(given) != 1:
            errors["password"] = ["Give exactly one of password or private_key."]
        elif given == ["private_key"]:
            from .ssh import load_private_key

            try:
                load_private_key(data["private_key"])
            except ValueError as exc:
                errors["private_key"] = [str(exc)]
        for port in ("ssh_port", "agent_port"):
            if port in data and not 1 <= data[port] <= 65535:
                errors[port] = ["Ports are 1-65535."]
        if errors:
            raise serializers.ValidationError(errors)

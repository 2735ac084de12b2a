"""A VM's network interfaces: one per L3 network, holding one address of it (network.UsedIp)."""
import uuid as uuid_lib

from django.db import models


class VmNic(models.Model):
    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    vm_instance = models.ForeignKey("compute.VmInstance", on_delete=models.CASCADE, related_name="nics")
    l3_network = models.ForeignKey("network.L3Network", on_delete=models.PROTECT, related_name="vm_nics")
    used_ip = models.OneToOneField("network.UsedIp", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="vm_nic")
    ip = models.CharField(max_length=15)
    mac = models.CharField(max_length=17, unique=True)
    netmask = models.CharField(max_length=15)
    gateway = models.CharField(max_length=15, blank=True, default="")
    device_id = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # network QoS (<bandwidth>), bytes per second as the guest sees it: 0 means no limit
    inbound_bandwidth = models.BigIntegerField(default=0, help_text="bytes/s into the VM")
    outbound_bandwidth = models.BigIntegerField(default=0, help_text="bytes/s out of the VM")

    class Meta:
        ordering = ["device_id", "id"]
        constraints = [models.UniqueConstraint(fields=["vm_instance", "device_id"], name="vmnic_unique_device")]

    class Query:
        fields = ["uuid", "ip", "mac", "netmask", "gateway", "device_id", "l3_network_uuid", "vm_instance_uuid",
                  "created_at"]
        aliases = {"l3_network_uuid": "l3_network__uuid", "vm_instance_uuid": "vm_instance__uuid"}
        relations = ["l3_network", "vm_instance"]

    @classmethod
    def resource_type(cls):
        return "VmNic"

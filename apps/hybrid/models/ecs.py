"""ECS instances (H3) and their state table.

``state`` is the cloud's ``Status`` (Pending, Starting, Running, Stopping, Stopped) as the last
sync or flow saw it, plus the portal's own words for what it is doing (Creating, Rebooting,
Deleting) and ``Deleted`` for an instance a sync no longer found in the cloud. The API's actions
fire events through ``ECS_STATE_MACHINE`` (a wrong state is a 409 naming it); a sync copies the
cloud's status onto the rows no job holds.
"""
from django.db import models

from apps.core.models import Resource
from apps.core.states import StateMachine


class EcsState(models.TextChoices):
    CREATING = "Creating"
    PENDING = "Pending"
    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    REBOOTING = "Rebooting"
    DELETING = "Deleting"
    DELETED = "Deleted"


S = EcsState
_T = {}


def _allow(states, event, to=None):
    for state in states:
        _T[(state, event)] = to or state


_allow((S.STOPPED,), "starting", S.STARTING)
_allow((S.RUNNING,), "stopping", S.STOPPING)
_allow((S.RUNNING,), "rebooting", S.REBOOTING)
_allow((S.STARTING, S.REBOOTING, S.CREATING, S.PENDING), "running", S.RUNNING)
_allow((S.STOPPING,), "stopped", S.STOPPED)
# an instance gone in the cloud (Deleted) is deleted here without a call
_allow((S.RUNNING, S.STOPPED, S.DELETED, S.PENDING), "deleting", S.DELETING)
# changes that keep the state: the instance must be in one the cloud accepts them in
_allow((S.RUNNING, S.STOPPED), "renaming")
_allow((S.RUNNING, S.STOPPED), "changing-password")
_allow((S.RUNNING, S.STOPPED), "changing-charge-type")
_allow((S.RUNNING, S.STOPPED), "setting-vnc-password")
_allow((S.RUNNING,), "opening-vnc")

ECS_ACTIONS = {"start": "starting", "stop": "stopping", "reboot": "rebooting", "delete": "deleting",
               "rename": "renaming", "change-password": "changing-password",
               "charge-type": "changing-charge-type", "vnc-password": "setting-vnc-password",
               "vnc-url": "opening-vnc"}

ECS_STATE_MACHINE = StateMachine("ECS instance", _T, actions=ECS_ACTIONS)

MIB = 1 << 20


class EcsInstance(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="ecs_instances")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT,
                                    related_name="ecs_instances")
    identity_zone = models.ForeignKey("hybrid.AlibabaIdentityZone", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="ecs_instances")
    # the cloud's id; empty until the create flow's RunInstances answered
    instance_id = models.CharField(max_length=64, null=True, blank=True)
    state = models.CharField(max_length=16, choices=EcsState.choices, default=EcsState.CREATING)
    instance_type = models.CharField(max_length=64)
    image_id = models.CharField(max_length=128, blank=True, default="")
    cpu_num = models.PositiveIntegerField(default=0)
    memory_size = models.BigIntegerField(default=0, help_text="bytes")
    instance_charge_type = models.CharField(max_length=16, default="PostPaid")
    internet_charge_type = models.CharField(max_length=32, blank=True, default="")
    internet_max_bandwidth_out = models.IntegerField(default=0, help_text="Mbit/s")
    vpc_id = models.CharField(max_length=64, blank=True, default="")
    v_switch_id = models.CharField(max_length=64, blank=True, default="")
    security_group_ids = models.JSONField(default=list, blank=True)
    private_ips = models.JSONField(default=list, blank=True)
    public_ips = models.JSONField(default=list, blank=True)
    eip_address = models.CharField(max_length=64, blank=True, default="")
    host_name = models.CharField(max_length=128, blank=True, default="")
    os_name = models.CharField(max_length=128, blank=True, default="")
    remote_created_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    # the VM list's row that shows this instance next to the local VMs (apps/hybrid/oneview.py)
    vm_instance = models.OneToOneField("compute.VmInstance", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="ecs_instance")

    tenant_path = "account"
    admin_only_writes = False
    state_machine = ECS_STATE_MACHINE

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "instance_id"], name="ecs_instance_once")]
        indexes = [models.Index(fields=["account", "state", "created_at"], name="ecs_account_state_created")]

    class Query:
        fields = ["uuid", "name", "description", "instance_id", "state", "instance_type", "image_id", "cpu_num",
                  "memory_size", "instance_charge_type", "internet_charge_type", "vpc_id", "v_switch_id",
                  "eip_address", "host_name", "os_name", "data_center_uuid", "identity_zone_uuid", "zone_id",
                  "region_id", "account_uuid", "remote_created_at", "expired_at", "created_at", "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "identity_zone_uuid": "identity_zone__uuid",
                   "zone_id": "identity_zone__zone_id", "region_id": "data_center__region_id",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "identity_zone", "account"]

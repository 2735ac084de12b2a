"""VM instances and their state table (ZStack's VmInstanceState / VmInstanceStateEvent).

A VM's ``state`` changes only through ``VM_STATE_MACHINE``: the API actions fire an
"-ing" event when their flow starts (start -> Starting) and the flow fires the
outcome (running) when it ends; the state sync fires what the hypervisor reports.
"""
from django.db import models

from apps.core.models import Resource, ResourceQuerySet, compiled
from apps.core.secrets import EncryptedTextField
from apps.core.states import StateMachine

from .ha import HaLevel
from .offering import AllocatorStrategy


class VmState(models.TextChoices):
    CREATED = "Created"
    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    REBOOTING = "Rebooting"
    PAUSING = "Pausing"
    PAUSED = "Paused"
    RESUMING = "Resuming"
    DESTROYING = "Destroying"
    DESTROYED = "Destroyed"
    EXPUNGING = "Expunging"
    MIGRATING = "Migrating"
    UNKNOWN = "Unknown"
    ERROR = "Error"


S = VmState
_T = {}


def _allow(states, event, to):
    for state in states:
        _T[(state, event)] = to


# what the hypervisor can report of a VM on a connected host (state sync, agent events)
_SYNCABLE = (S.RUNNING, S.STOPPED, S.PAUSED, S.UNKNOWN, S.STARTING, S.STOPPING, S.REBOOTING, S.PAUSING,
             S.RESUMING)
_allow(_SYNCABLE, "running", S.RUNNING)
_allow(_SYNCABLE, "stopped", S.STOPPED)
_allow(_SYNCABLE, "paused", S.PAUSED)
_allow(_SYNCABLE + (S.MIGRATING,), "unknown", S.UNKNOWN)
# the create flow
_allow((S.CREATED,), "running", S.RUNNING)
_allow((S.CREATED,), "stopped", S.STOPPED)
_allow((S.CREATED,), "starting", S.STARTING)
# actions
_allow((S.STOPPED,), "starting", S.STARTING)
_allow((S.RUNNING, S.PAUSED, S.UNKNOWN), "stopping", S.STOPPING)
_allow((S.RUNNING,), "rebooting", S.REBOOTING)
_allow((S.RUNNING,), "pausing", S.PAUSING)
_allow((S.PAUSED,), "resuming", S.RESUMING)
_allow((S.RUNNING,), "migrating", S.MIGRATING)
_allow((S.MIGRATING,), "running", S.RUNNING)
_allow((S.CREATED, S.RUNNING, S.STOPPED, S.PAUSED, S.UNKNOWN, S.ERROR), "destroying", S.DESTROYING)
_allow((S.DESTROYING,), "destroyed", S.DESTROYED)
_allow((S.DESTROYING,), "running", S.RUNNING)  # a destroy that failed leaves the VM as the hypervisor has it
_allow((S.DESTROYING,), "stopped", S.STOPPED)
_allow((S.DESTROYING,), "paused", S.PAUSED)
_allow((S.DESTROYED,), "recovering", S.STOPPED)  # ZStack: a recovered VM is Stopped
_allow((S.DESTROYED, S.ERROR), "expunging", S.EXPUNGING)
_allow((S.EXPUNGING,), "destroyed", S.DESTROYED)  # an expunge that failed
_allow((S.CREATED, S.STARTING), "error", S.ERROR)
# migration (flows/vm_migrate.py): live from Running or Paused, cold from Stopped; a migration
# ends (or rolls back) in the state it started from
_allow((S.PAUSED, S.STOPPED), "migrating", S.MIGRATING)
_allow((S.MIGRATING,), "paused", S.PAUSED)
_allow((S.MIGRATING,), "stopped", S.STOPPED)

# the API's actions (POST .../<uuid>/<action>/, DELETE for destroy) and the events they fire
VM_ACTIONS = {"start": "starting", "stop": "stopping", "power-off": "stopping", "reboot": "rebooting",
              "pause": "pausing", "resume": "resuming", "destroy": "destroying", "recover": "recovering",
              "expunge": "expunging"}

VM_STATE_MACHINE = StateMachine("VM", _T, actions=VM_ACTIONS)


class VmInstanceQuerySet(ResourceQuerySet):
    @compiled
    def place_on(self, uuid, host_id, cluster_id, zone_id):
        """Record the host a VM was placed on, with its cluster and zone (one UPDATE, no signal)."""
        return self.filter(uuid=uuid).update(host_id=host_id, last_host_id=host_id, cluster_id=cluster_id,
                                             zone_id=zone_id)


class VmInstance(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="vm_instances")
    state = models.CharField(max_length=16, choices=VmState.choices, default=VmState.CREATED)
    type = models.CharField(max_length=32, default="UserVm")
    hypervisor_type = models.CharField(max_length=16, default="KVM")
    zone = models.ForeignKey("infra.Zone", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cluster = models.ForeignKey("infra.Cluster", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    host = models.ForeignKey("infra.Host", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="vm_instances")
    last_host = models.ForeignKey("infra.Host", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    instance_offering = models.ForeignKey("compute.InstanceOffering", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="vm_instances")
    image = models.ForeignKey("storage.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    root_volume = models.ForeignKey("storage.Volume", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    cpu_num = models.PositiveIntegerField()
    memory_size = models.BigIntegerField(help_text="bytes")
    allocator_strategy = models.CharField(max_length=64, choices=AllocatorStrategy.choices,
                                          default=AllocatorStrategy.RANDOM)
    platform = models.CharField(max_length=32, default="Linux")
    console_password = EncryptedTextField(blank=True, default="")
    # a VM of a public cloud (apps/compute/vm_clouds.py): the cloud's zone it runs in; empty for a local VM
    cloud_zone_id = models.CharField(max_length=64, blank=True, default="")
    destroyed_at = models.DateTimeField(null=True, blank=True)
    # None, or NeverStop: restarted on another host when its host fails (apps/compute/ha.py)
    ha_level = models.CharField(max_length=16, choices=HaLevel.choices, null=True, blank=True, default=None)
    # guest settings (apps/compute/guest/): what the define part sends the agent for this VM
    cpu_max = models.PositiveIntegerField(null=True, blank=True, help_text="vCPUs it may grow to while running")
    memory_max = models.BigIntegerField(null=True, blank=True, help_text="bytes it may balloon up to while running")
    boot_order = models.CharField(max_length=64, blank=True, default="", help_text="comma list of hd, cdrom, network")
    video_type = models.CharField(max_length=16, default="vga")
    guest_agent = models.BooleanField(default=False, help_text="a virtio-serial channel for the QEMU guest agent")
    has_cdrom = models.BooleanField(default=False, help_text="an ISO drive (an empty tray when cdrom_image is null)")
    cdrom_image = models.ForeignKey("storage.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cdrom_cache_id = models.BigIntegerField(null=True, blank=True, help_text="the image cache the ISO drive counts")
    hostname = models.CharField(max_length=64, blank=True, default="")
    user_data = models.TextField(blank=True, default="")
    ssh_keys = models.TextField(blank=True, default="", help_text="public keys, one a line")
    config_drive_path = models.CharField(max_length=2048, blank=True, default="")

    tenant_path = "account"
    admin_only_writes = False
    state_machine = VM_STATE_MACHINE

    objects = VmInstanceQuerySet.as_manager()

    class Meta(Resource.Meta):
        indexes = [models.Index(fields=["account", "state", "created_at"], name="vm_account_state_created"),
                   models.Index(fields=["state", "destroyed_at"], name="vm_state_destroyed")]

    class Query:
        fields = ["uuid", "name", "description", "state", "type", "hypervisor_type", "cpu_num", "memory_size",
                  "allocator_strategy", "platform", "cloud_zone_id", "zone_uuid", "cluster_uuid", "host_uuid",
                  "last_host_uuid",
                  "instance_offering_uuid", "account_uuid", "image_uuid", "root_volume_uuid", "created_at", "updated_at",
                  "destroyed_at", "ha_level"]
        aliases = {"zone_uuid": "zone__uuid", "cluster_uuid": "cluster__uuid", "host_uuid": "host__uuid",
                   "last_host_uuid": "last_host__uuid", "instance_offering_uuid": "instance_offering__uuid",
                   "account_uuid": "account__uuid", "image_uuid": "image__uuid",
                   "root_volume_uuid": "root_volume__uuid"}
        relations = ["host", "cluster", "zone", "instance_offering", "account", "nics"]

    def config_parent(self):
        return self.cluster or self.zone

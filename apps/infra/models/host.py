"""Hosts: KVM nodes driven through the host agent, or simulated ones.

``status`` (is the agent reachable) and ``state`` (may VMs be placed here) are
separate, each with its own transition table, as in ZStack.
"""
from django.db import models
from django.db.models import F

from apps.core.models import Resource, ResourceQuerySet, compiled, kept
from apps.core.secrets import EncryptedTextField
from apps.core.states import StateMachine

from .cluster import HypervisorType


class HostStatus(models.TextChoices):
    CONNECTING = "Connecting"
    CONNECTED = "Connected"
    DISCONNECTED = "Disconnected"


class HostState(models.TextChoices):
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PRE_MAINTENANCE = "PreMaintenance"
    MAINTENANCE = "Maintenance"


HOST_STATUS_MACHINE = StateMachine("host status", {
    (HostStatus.CONNECTING, "connected"): HostStatus.CONNECTED,
    (HostStatus.CONNECTING, "disconnected"): HostStatus.DISCONNECTED,
    (HostStatus.CONNECTING, "connecting"): HostStatus.CONNECTING,
    (HostStatus.CONNECTED, "connecting"): HostStatus.CONNECTING,
    (HostStatus.CONNECTED, "connected"): HostStatus.CONNECTED,
    (HostStatus.CONNECTED, "disconnected"): HostStatus.DISCONNECTED,
    (HostStatus.DISCONNECTED, "connecting"): HostStatus.CONNECTING,
    (HostStatus.DISCONNECTED, "connected"): HostStatus.CONNECTED,
    (HostStatus.DISCONNECTED, "disconnected"): HostStatus.DISCONNECTED,
}, actions={"reconnect": "connecting"})

HOST_STATE_MACHINE = StateMachine("host", {
    (HostState.ENABLED, "enable"): HostState.ENABLED,
    (HostState.ENABLED, "disable"): HostState.DISABLED,
    (HostState.ENABLED, "preMaintain"): HostState.PRE_MAINTENANCE,
    (HostState.DISABLED, "enable"): HostState.ENABLED,
    (HostState.DISABLED, "disable"): HostState.DISABLED,
    (HostState.DISABLED, "preMaintain"): HostState.PRE_MAINTENANCE,
    (HostState.PRE_MAINTENANCE, "maintain"): HostState.MAINTENANCE,
    (HostState.PRE_MAINTENANCE, "enable"): HostState.ENABLED,   # maintenance failed: back in service
    (HostState.PRE_MAINTENANCE, "disable"): HostState.DISABLED,
    (HostState.MAINTENANCE, "maintain"): HostState.MAINTENANCE,
    (HostState.MAINTENANCE, "enable"): HostState.ENABLED,
    (HostState.MAINTENANCE, "disable"): HostState.DISABLED,
    (HostState.MAINTENANCE, "cancelMaintenance"): HostState.ENABLED,
}, actions={"enable": "enable", "disable": "disable", "maintain": "preMaintain",
            "cancel-maintenance": "cancelMaintenance"})


class HostQuerySet(ResourceQuerySet):
    @compiled
    def take_capacity(self, pk, cpu, memory, cpu_room, memory_room):
        """Add ``cpu``/``memory`` to the host's use if it stays within ``*_room`` (what its ratios
        allow minus what the VM takes) after what is reserved for the host itself: 1 or 0 rows."""
        return self.filter(pk=pk, used_cpu__lte=cpu_room - F("reserved_cpu"),
                           used_memory__lte=memory_room - F("reserved_memory")).update(
            used_cpu=F("used_cpu") + cpu, used_memory=F("used_memory") + memory)

    @kept(invalidated_by=["infra.Host", "infra.Cluster"])
    @compiled
    def kept_with_cluster(self, uuid):
        """The host and its cluster, or None, as read up to a second ago: for what a flow uses of
        it (address, agent credentials, cluster), never its status or capacity."""
        return self.select_related("cluster").filter(uuid=uuid).first()

    @compiled(shape=["conditions", "wrapped", "limit"])
    def placement_window(self, conditions, values, start, limit, wrapped=False):
        """``limit`` hosts passing ``conditions`` (functions making a filter of ``values``) by id
        from ``start`` on (``wrapped``: below it), what placement reads of them (PLACEMENT_FIELDS)."""
        rows = self.filter(*(condition(values) for condition in conditions))
        rows = rows.filter(id__lt=start) if wrapped else rows.filter(id__gte=start)
        return rows.only(*PLACEMENT_FIELDS).order_by("id")[:limit]


# what placement reads of a candidate: its capacity (no join, no secret, no JSON). Whoever goes on
# with the chosen host loads the whole row once (AllocateHost: ctx_host; dry_run).
PLACEMENT_FIELDS = ("id", "uuid", "cluster_id", "cpu_num", "memory_size", "used_cpu", "used_memory",
                    "reserved_cpu", "reserved_memory")


class Host(Resource):
    cluster = models.ForeignKey("infra.Cluster", on_delete=models.PROTECT, related_name="hosts")
    hypervisor_type = models.CharField(max_length=16, choices=HypervisorType.choices)
    management_ip = models.CharField(max_length=255)
    # "ip:agent_port" for KVM hosts, unique; NULL for simulated hosts, which share one agent
    address_key = models.CharField(max_length=300, null=True, blank=True, unique=True, editable=False)
    ssh_port = models.PositiveIntegerField(default=22)
    username = models.CharField(max_length=64, blank=True, default="root")
    password = EncryptedTextField(blank=True, default="")
    private_key = EncryptedTextField(blank=True, default="")
    agent_port = models.PositiveIntegerField(default=7070)
    agent_secret = EncryptedTextField(blank=True, default="")
    agent_version = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=HostStatus.choices, default=HostStatus.CONNECTING)
    state = models.CharField(max_length=16, choices=HostState.choices, default=HostState.ENABLED)
    # capacity: physical figures from the agent; what VMs hold; what the operator keeps back
    cpu_num = models.PositiveIntegerField(default=0)
    memory_size = models.BigIntegerField(default=0)
    used_cpu = models.PositiveIntegerField(default=0)
    used_memory = models.BigIntegerField(default=0)
    reserved_cpu = models.PositiveIntegerField(default=0)
    reserved_memory = models.BigIntegerField(default=0)
    facts = models.JSONField(default=dict, blank=True)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    ping_failures = models.PositiveIntegerField(default=0)

    state_machine = HOST_STATE_MACHINE

    objects = HostQuerySet.as_manager()

    class Meta(Resource.Meta):
        db_table = "compute_host"   # the name it had before hosts moved out of compute
        indexes = [models.Index(fields=["status", "last_ping_at"], name="host_status_ping")]

    class Query:
        fields = [
            "uuid", "name", "description", "hypervisor_type", "management_ip", "ssh_port", "agent_port",
            "agent_version", "status", "state", "cpu_num", "memory_size", "used_cpu", "used_memory",
            "reserved_cpu", "reserved_memory", "last_ping_at", "cluster_uuid", "created_at", "updated_at",
        ]
        aliases = {"cluster_uuid": "cluster__uuid"}
        relations = ["cluster"]

    def config_parent(self):
        return self.cluster

    # --- capacity (ZStack's over-provisioning) -----------------------------------
    def ratios(self, fresh=False):
        """``(cpu_ratio, memory_ratio)`` in force on this host; read once per instance
        unless ``fresh`` (allocation always reads them fresh)."""
        cached = self.__dict__.get("_ratios")
        if cached is None or fresh:
            from ..globalconfig import CPU_RATIO, MEMORY_RATIO

            cached = (float(CPU_RATIO.value(resource=self)), float(MEMORY_RATIO.value(resource=self)))
            self.__dict__["_ratios"] = cached
        return cached

    def cpu_ratio(self):
        return self.ratios()[0]

    def memory_ratio(self):
        return self.ratios()[1]

    @property
    def total_cpu(self):
        return int(self.cpu_num * self.cpu_ratio())

    @property
    def total_memory(self):
        return int(self.memory_size * self.memory_ratio())

    @property
    def available_cpu(self):
        return self.total_cpu - self.reserved_cpu - self.used_cpu

    @property
    def available_memory(self):
        return self.total_memory - self.reserved_memory - self.used_memory

    def reserve(self, cpu, memory, ratios=None):
        """Take ``cpu``/``memory`` for a VM in one conditional UPDATE; False if it does not fit.
        ``ratios`` (cpu, memory): read fresh when not given (the allocator reads them in bulk)."""
        cpu_ratio, memory_ratio = ratios or self.ratios(fresh=True)
        return bool(Host.objects.take_capacity(self.pk, cpu, memory, cpu_room=float(self.cpu_num * cpu_ratio - cpu),
                                               memory_room=float(self.memory_size * memory_ratio - memory)))

    def release(self, cpu, memory):
        Host.objects.filter(pk=self.pk, used_cpu__gte=cpu, used_memory__gte=memory).update(
            used_cpu=F("used_cpu") - cpu, used_memory=F("used_memory") - memory)

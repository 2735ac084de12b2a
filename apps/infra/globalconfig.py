"""Global configs of hosts (ZStack's host.* configs)."""
from apps.core.globalconfig import GlobalConfigDef, at_least

PING_INTERVAL = GlobalConfigDef(
    "host", "ping.interval", int, 60, "seconds between two pings of a connected host", validator=at_least(1))
PING_MAX_FAILURE = GlobalConfigDef(
    "host", "ping.maxFailure", int, 3, "missed pings in a row before a host is Disconnected", validator=at_least(1))
PING_TIMEOUT = GlobalConfigDef(
    "host", "ping.timeout", int, 5, "seconds one ping may take", validator=at_least(1))
# How long the portal waits for an agent's answer, by kind of operation (apps/infra/agent.py maps
# each path to one; docs/agent-protocol.md, "Timeouts"). A busy host queues operations, so these are
# what an operation may take behind others, not alone.
AGENT_READ_TIMEOUT = GlobalConfigDef(
    "host", "agent.timeout.read", int, 30,
    "seconds an agent may take to answer a read (connect, facts, capacity, VM states, VNC port, network state)",
    validator=at_least(1))
AGENT_VM_TIMEOUT = GlobalConfigDef(
    "host", "agent.timeout.vm", int, 120,
    "seconds an agent may take to define, start, power off, undefine, pause, resume or reboot a VM",
    validator=at_least(1))
AGENT_NETWORK_TIMEOUT = GlobalConfigDef(
    "host", "agent.timeout.network", int, 120,
    "seconds an agent may take to make or remove a bridge or a DHCP server (dnsmasq) or change its entries",
    validator=at_least(1))
AGENT_STORAGE_TIMEOUT = GlobalConfigDef(
    "host", "agent.timeout.storage", int, 300,
    "seconds an agent may take to create or delete a volume or an image cache file (qemu-img)",
    validator=at_least(1))
AGENT_TIMEOUT = GlobalConfigDef(
    "host", "agent.timeout.default", int, 60,
    "seconds an agent may take to answer any other call", validator=at_least(1))
AUTO_RECONNECT = GlobalConfigDef(
    "host", "connection.autoReconnectOnError", bool, True,
    "reconnect a Disconnected host by itself when its agent answers again")
CPU_RATIO = GlobalConfigDef(
    "host", "cpu.overProvisioning.ratio", float, 10.0,
    "virtual CPUs offered per physical CPU", validator=at_least(0.1), overridable_by=["Cluster", "Host"])
MEMORY_RATIO = GlobalConfigDef(
    "host", "memory.overProvisioning.ratio", float, 1.0,
    "memory offered per byte of physical memory", validator=at_least(0.1), overridable_by=["Cluster", "Host"])

"""Global configs of VMs (ZStack's vm.* configs)."""
from apps.core.globalconfig import GlobalConfigDef, at_least, one_of

DELETION_POLICY = GlobalConfigDef(
    "vm", "deletionPolicy", str, "Delay",
    "what DELETE of a VM does: Direct (expunge at once), Delay (recycle bin, expunged after "
    "vm.expungePeriod) or Never (recycle bin until expunged by hand)",
    validator=one_of("Direct", "Delay", "Never"))
EXPUNGE_PERIOD = GlobalConfigDef(
    "vm", "expungePeriod", int, 86400, "seconds a destroyed VM stays in the recycle bin (policy Delay)",
    validator=at_least(1))
STOP_TIMEOUT = GlobalConfigDef(
    "vm", "stop.timeout", int, 60, "seconds a graceful stop (ACPI) may take before the VM is powered off",
    validator=at_least(0))
SYNC_INTERVAL = GlobalConfigDef(
    "vm", "sync.interval", int, 60, "seconds between two state syncs of the VMs of a connected host",
    validator=at_least(5))
CONSOLE_TOKEN_TTL = GlobalConfigDef(
    "vm", "console.token.ttl", int, 60,
    "seconds a console token (POST /vm-instances/<uuid>/console/) stays usable; each token opens one connection",
    validator=at_least(5))
MIGRATE_TIMEOUT = GlobalConfigDef(
    "vm", "migrate.timeout", int, 600,
    "seconds a live migration may take on the hypervisor before it is aborted (the VM stays on its source)",
    validator=at_least(10))

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
# Host maintenance (apps/compute/flows/host_maintenance.py) and HA (apps/compute/ha.py)
MAINTENANCE_POLICY = GlobalConfigDef(
    "host", "maintenance.policy", str, "StopVmOnMigrationFailure",
    "what entering maintenance does with a VM that cannot be live-migrated: StopVmOnMigrationFailure (stop it "
    "on the host) or JustMigrate (refuse the maintenance and move nothing)",
    validator=one_of("StopVmOnMigrationFailure", "JustMigrate"))
HA_CHECK_TIMES = GlobalConfigDef(
    "ha", "host.check.times", int, 3,
    "checks in a row that must find a Disconnected host down (agent silent, storage heartbeat stale) before "
    "its NeverStop VMs are restarted elsewhere", validator=at_least(1))
HA_CHECK_INTERVAL = GlobalConfigDef(
    "ha", "host.check.interval", int, 10, "seconds between two HA checks of a Disconnected host",
    validator=at_least(1))
HA_HEARTBEAT_INTERVAL = GlobalConfigDef(
    "ha", "heartbeat.interval", int, 5,
    "seconds between two storage heartbeats an agent writes on each shared primary storage of its host",
    validator=at_least(1))
HA_RETRY_DELAY = GlobalConfigDef(
    "ha", "restart.retryDelay", int, 10,
    "seconds before a failed HA restart is tried again; doubled after each failure up to ha/restart.maxDelay",
    validator=at_least(1))
HA_RETRY_MAX_DELAY = GlobalConfigDef(
    "ha", "restart.maxDelay", int, 600, "the longest wait between two HA restart attempts of a VM",
    validator=at_least(1))
MIGRATE_TIMEOUT = GlobalConfigDef(
    "vm", "migrate.timeout", int, 600,
    "seconds a live migration may take on the hypervisor before it is aborted (the VM stays on its source)",
    validator=at_least(10))

"""Global configs (ZStack's GlobalConfig): typed, validated, changed without restart.

Code declares a config once::

    PING_INTERVAL = GlobalConfigDef("host", "ping.interval", int, 60,
                                    "seconds between two pings of a host",
                                    validator=at_least(1), overridable_by=["Cluster", "Host"])

and reads it where it is used: ``PING_INTERVAL.value()`` or, honouring
resource-level overrides, ``PING_INTERVAL.value(resource=host)``. The value is
read from the database each time, so an API change takes effect at once in
every process.
"""
from .registry import REGISTRY, GlobalConfigDef, at_least, between, get_def, one_of, sync_registry

__all__ = ["REGISTRY", "GlobalConfigDef", "at_least", "between", "get_def", "one_of", "sync_registry"]

"""Global configs of the hybrid cloud (category ``hybrid``)."""
from apps.core.globalconfig import GlobalConfigDef, at_least, between

SYNC_INTERVAL = GlobalConfigDef(
    "hybrid", "syncInterval", int, 600,
    "seconds between two automatic syncs of an Alibaba Cloud data centre (0: only when asked); "
    "a data centre may have its own", validator=at_least(0), overridable_by=["AlibabaDataCenter"])
WAIT_TIMEOUT = GlobalConfigDef(
    "hybrid", "ecs.waitTimeout", int, 600,
    "seconds a flow waits for an ECS instance to reach the state it asked for before it fails (and rolls back)",
    validator=at_least(1))
POLL_INTERVAL = GlobalConfigDef(
    "hybrid", "ecs.pollInterval", float, 5.0,
    "the longest pause in seconds between two looks at an ECS instance a flow waits for (it looks "
    "sooner at first: 0.2 s, doubled each time up to this)", validator=between(0.05, 60))
THROTTLE_RETRIES = GlobalConfigDef(
    "hybrid", "throttle.retries", int, 4,
    "how many times a call Alibaba Cloud throttled is tried again (after the wait it asks for, or a "
    "doubling backoff) before it fails", validator=between(0, 20))

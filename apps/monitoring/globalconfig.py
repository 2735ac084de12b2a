"""Global configs of monitoring (ZStack's monitoring category)."""
from apps.core.globalconfig import GlobalConfigDef, at_least

SAMPLE_INTERVAL = GlobalConfigDef(
    "monitoring", "sampleInterval", int, 10,
    "seconds between two samples of every host and VM (the agents sample this often; the built-in store "
    "collects this often)", validator=at_least(1))

"""Global configs of monitoring."""
from apps.core.globalconfig import GlobalConfigDef, between

SAMPLE_INTERVAL = GlobalConfigDef(
    "monitoring", "sampleInterval", int, 10,
    "seconds between two samples of a host and its VMs (the agents sample this often, the built-in store "
    "collects this often; sent to the agents when "
    "they connect and with every ping, so a change reaches them within one ping interval)",
    validator=between(1, 3600))


def agent_settings():
    """What the portal tells every agent about monitoring (apps.infra.agent.AGENT_SETTINGS_HOOKS)."""
    return {"sample_interval": SAMPLE_INTERVAL.value()}

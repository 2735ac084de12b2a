"""Global configs of monitoring (category ``monitoring``) and of alarms (category ``alarm``)."""
from apps.core.globalconfig import GlobalConfigDef, at_least, between

SAMPLE_INTERVAL = GlobalConfigDef(
    "monitoring", "sampleInterval", int, 10,
    "seconds between two samples of a host and its VMs (the agents sample this often, the built-in store "
    "collects this often; sent to the agents when "
    "they connect and with every ping, so a change reaches them within one ping interval)",
    validator=between(1, 3600))

WEBHOOK_PRIVATE_ADDRESSES = GlobalConfigDef(
    "alarm", "webhook.privateAddresses", bool, False,
    "whether normal accounts' webhooks may be sent to loopback, private or link-local addresses (the "
    "portal's own networks); admins' webhooks always may")
HISTORY_RETENTION_DAYS = GlobalConfigDef(
    "alarm", "history.retentionDays", int, 90,
    "days alarm history, notification deliveries and schedule runs are kept", validator=at_least(1))


def agent_settings():
    """What the portal tells every agent about monitoring (apps.infra.agent.AGENT_SETTINGS_HOOKS)."""
    return {"sample_interval": SAMPLE_INTERVAL.value()}

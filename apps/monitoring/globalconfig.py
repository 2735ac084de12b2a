"""Global configs of alarms (category ``alarm``)."""
from apps.core.globalconfig import GlobalConfigDef, at_least

WEBHOOK_PRIVATE_ADDRESSES = GlobalConfigDef(
    "alarm", "webhook.privateAddresses", bool, False,
    "whether normal accounts' webhooks may be sent to loopback, private or link-local addresses (the "
    "portal's own networks); admins' webhooks always may")
HISTORY_RETENTION_DAYS = GlobalConfigDef(
    "alarm", "history.retentionDays", int, 90,
    "days alarm history, notification deliveries and schedule runs are kept", validator=at_least(1))

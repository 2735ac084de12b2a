"""Global configs of alarms (category ``alarm``)."""
from apps.core.globalconfig import GlobalConfigDef

WEBHOOK_PRIVATE_ADDRESSES = GlobalConfigDef(
    "alarm", "webhook.privateAddresses", bool, False,
    "whether normal accounts' webhooks may be sent to loopback, private or link-local addresses (the "
    "portal's own networks); admins' webhooks always may")

"""Where alarms are sent (per account) and the log of every delivery."""
import uuid as uuid_lib

from django.db import models

from apps.core.models import Resource
from apps.core.secrets import EncryptedTextField
from apps.core.states import ENABLE_STATE_MACHINE, EnableState


class EndpointType(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"


class NotificationEndpoint(Resource):
    """An email address list or a webhook URL. A webhook's body is signed with ``secret``
    (HMAC-SHA256), which is stored encrypted and never shown."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="notification_endpoints",
                                null=True, blank=True)
    type = models.CharField(max_length=8, choices=EndpointType.choices)
    address = models.CharField(max_length=2048, help_text="email: addresses, comma separated; webhook: URL")
    secret = EncryptedTextField(blank=True, default="")
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)

    state_machine = ENABLE_STATE_MACHINE
    tenant_path = "account"

    class Query:
        fields = ["uuid", "name", "description", "type", "address", "state", "account_uuid",
                  "created_at", "updated_at"]
        aliases = {"account_uuid": "account__uuid"}
        relations = ["account"]


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(models.Model):
    """One alarm message to one endpoint: tried until sent, with growing pauses, then given up."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+",
                                null=True, blank=True)
    endpoint = models.ForeignKey(NotificationEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    history = models.ForeignKey("monitoring.AlarmHistory", on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    log = models.JSONField(default=list, blank=True, help_text="[{at, ok, status, error}] per attempt")

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    class Query:
        fields = ["uuid", "created_at", "state", "attempts", "next_attempt_at", "delivered_at",
                  "endpoint_uuid", "history_uuid", "account_uuid"]
        aliases = {"endpoint_uuid": "endpoint__uuid", "history_uuid": "history__uuid",
                   "account_uuid": "account__uuid"}
        relations = ["endpoint", "history"]

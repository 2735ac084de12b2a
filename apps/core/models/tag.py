import uuid as uuid_lib

from django.db import models


class TagType(models.TextChoices):
    USER = "user"
    SYSTEM = "system"


class Tag(models.Model):
    """A label on any resource. User tags are free text owned by the account that
    set them; system tags follow a registered pattern (apps.core.systemtags)."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    resource_type = models.CharField(max_length=64)
    resource_uuid = models.UUIDField()
    tag = models.CharField(max_length=512)
    type = models.CharField(max_length=8, choices=TagType.choices, default=TagType.USER)
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="tags")
    created_at = models.DateTimeField(auto_now_add=True)

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["resource_uuid", "tag", "account"], name="tag_unique_per_owner"),
        ]
        indexes = [models.Index(fields=["resource_type", "tag"], name="tag_type_tag")]

    class Query:
        fields = ["uuid", "resource_type", "resource_uuid", "tag", "type", "created_at", "account_uuid"]
        aliases = {"account_uuid": "account__uuid"}
        relations = ["account"]

import uuid as uuid_lib

from django.db import models


class AuditLog(models.Model):
    """One mutating API call: who, what, which resource, result, duration, from where."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    request_id = models.CharField(max_length=64, db_index=True)
    user_name = models.CharField(max_length=150, blank=True, default="")
    user_uuid = models.UUIDField(null=True, blank=True)
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=1024)
    action = models.CharField(max_length=128, blank=True, default="")
    resource_type = models.CharField(max_length=64, blank=True, default="")
    resource_uuid = models.UUIDField(null=True, blank=True)
    job_uuid = models.UUIDField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField()
    result = models.CharField(max_length=16)  # success | failure
    error_code = models.CharField(max_length=64, blank=True, default="")
    duration_ms = models.FloatField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_created"),
            models.Index(fields=["account", "created_at"], name="audit_account_created"),
            models.Index(fields=["resource_uuid"], name="audit_resource"),
        ]

    class Query:
        fields = [
            "uuid", "created_at", "request_id", "user_name", "user_uuid", "method", "path", "action",
            "resource_type", "resource_uuid", "job_uuid", "status_code", "result", "error_code",
            "duration_ms", "client_ip", "account_uuid",
        ]
        aliases = {"account_uuid": "account__uuid"}
        relations = ["account"]


class ChangeLog(models.Model):
    """A before/after diff of one resource row, tied to the request (or job) that changed it."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    request_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    job_uuid = models.UUIDField(null=True, blank=True)
    user_name = models.CharField(max_length=150, blank=True, default="")
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resource_type = models.CharField(max_length=64)
    resource_uuid = models.UUIDField(db_index=True)
    resource_name = models.CharField(max_length=255, blank=True, default="")
    action = models.CharField(max_length=8)  # create | update | delete
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]

    class Query:
        fields = [
            "uuid", "created_at", "request_id", "job_uuid", "user_name", "resource_type",
            "resource_uuid", "resource_name", "action", "account_uuid",
        ]
        aliases = {"account_uuid": "account__uuid"}
        relations = ["account"]

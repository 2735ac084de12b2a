"""A Job records one run of a flow: state, progress, per-step record, result, error."""
import uuid as uuid_lib

from django.conf import settings
from django.db import models


class JobState(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Job(models.Model):
    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    flow = models.CharField(max_length=128)
    action = models.CharField(max_length=128)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    # [{"name", "state": pending|running|succeeded|failed|rolling_back|rolled_back|rollback_failed|skipped,
    #   "started_at", "finished_at", "duration_ms", "attempts", "error"}]
    steps = models.JSONField(default=list)
    args = models.JSONField(default=dict)  # what the flow was asked to do
    context = models.JSONField(default=dict)  # what the steps recorded (persisted after each step)
    resource_type = models.CharField(max_length=64, blank=True, default="")
    resource_uuid = models.UUIDField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)  # {"code", "message", "details", "step"}
    cancel_requested = models.BooleanField(default=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)  # started_at + the flow's timeout
    worker = models.CharField(max_length=255, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["state", "lease_expires_at"], name="job_state_lease"),
            models.Index(fields=["created_at", "id"], name="job_created"),
            models.Index(fields=["account", "state", "created_at"], name="job_account_state_created"),
            # the jobs list of one account filtered by state and action, newest or oldest first, as an
            # index-only scan (count and deep pages; docs/benchmarks.md)
            models.Index(fields=["account", "state", "action", "created_at", "id"],
                         name="job_acct_state_action_crt"),
            models.Index(fields=["resource_uuid"], name="job_resource"),
        ]

    class Query:
        fields = [
            "uuid", "flow", "action", "state", "progress", "resource_type", "resource_uuid",
            "request_id", "created_at", "started_at", "finished_at", "account_uuid",
        ]
        aliases = {"account_uuid": "account__uuid"}
        relations = ["account", "user"]

    @property
    def finished(self):
        return self.state in FINISHED_STATES

    def __str__(self):
        return f"Job {self.action} ({self.uuid}) {self.state}"

"""Scheduled VM operations (stop, start, reboot at a cron time or every so often) and their runs."""
import uuid as uuid_lib

from django.db import models

from apps.core.models import Resource
from apps.core.states import ENABLE_STATE_MACHINE, EnableState


class ScheduleAction(models.TextChoices):
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"


class VmSchedule(Resource):
    """Runs ``action`` on ``vm`` as an ordinary job when due: at the times of ``cron`` (five fields,
    read in ``timezone``) or every ``interval_seconds``. Goes with its VM."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="vm_schedules",
                                null=True, blank=True)
    vm = models.ForeignKey("compute.VmInstance", on_delete=models.CASCADE, related_name="schedules")
    action = models.CharField(max_length=8, choices=ScheduleAction.choices)
    cron = models.CharField(max_length=128, blank=True, default="")
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    state_machine = ENABLE_STATE_MACHINE
    tenant_path = "account"
    change_log_exclude = Resource.change_log_exclude + ("next_run_at", "last_run_at")

    class Meta(Resource.Meta):
        indexes = [models.Index(fields=["state", "next_run_at"], name="vmschedule_due")]

    class Query:
        fields = ["uuid", "name", "description", "action", "cron", "interval_seconds", "timezone", "state",
                  "next_run_at", "last_run_at", "vm_uuid", "account_uuid", "created_at", "updated_at"]
        aliases = {"vm_uuid": "vm__uuid", "account_uuid": "account__uuid"}
        relations = ["vm"]


class ScheduleRun(models.Model):
    """One time a schedule came due: the job it started, or why it started none."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+",
                                null=True, blank=True)
    schedule = models.ForeignKey(VmSchedule, on_delete=models.CASCADE, related_name="runs")
    due_at = models.DateTimeField()
    job_uuid = models.UUIDField(null=True, blank=True)
    outcome = models.CharField(max_length=16, help_text="started | refused")
    message = models.TextField(blank=True, default="")

    tenant_path = "account"

    class Meta:
        ordering = ["created_at", "id"]

    class Query:
        fields = ["uuid", "created_at", "due_at", "job_uuid", "outcome", "schedule_uuid", "account_uuid"]
        aliases = {"schedule_uuid": "schedule__uuid", "account_uuid": "account__uuid"}
        relations = ["schedule"]

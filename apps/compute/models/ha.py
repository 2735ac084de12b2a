"""HA: a VM's level (``VmInstance.ha_level``) and the restarts HA owes (apps/compute/ha.py).

A ``HaRestart`` row is made once, when a NeverStop VM's host is confirmed down (a unique key on
the VM and the failed host, so two beats make one); each attempt is a job on the VM (its job
history shows them), and a failed one is tried again after a delay that doubles.
"""
from django.db import models


class HaLevel(models.TextChoices):
    NEVER_STOP = "NeverStop"


class HaRestartState(models.TextChoices):
    PENDING = "Pending"        # the VM is to be restarted: an attempt is due at next_attempt_at
    DONE = "Done"              # it runs again (on another host)
    ABANDONED = "Abandoned"    # no longer wanted: the VM was started, stopped or destroyed by someone, or lost NeverStop


class HaRestart(models.Model):
    vm_instance = models.ForeignKey("compute.VmInstance", on_delete=models.CASCADE, related_name="ha_restarts")
    failed_host = models.ForeignKey("infra.Host", null=True, on_delete=models.SET_NULL, related_name="+")
    failed_host_uuid = models.UUIDField()   # kept when the host row goes
    state = models.CharField(max_length=16, choices=HaRestartState.choices, default=HaRestartState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    job_uuid = models.UUIDField(null=True, blank=True)   # the attempt running or last run
    last_error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vm_instance", "failed_host_uuid"], name="ha_restart_once")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="ha_restart_due")]

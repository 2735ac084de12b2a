"""Global configs of the core framework."""
from django.conf import settings

from .registry import GlobalConfigDef, at_least

AUDIT_RETENTION_DAYS = GlobalConfigDef(
    "audit", "retention.days", int, 90,
    "days audit logs and change logs are kept before beat prunes them", validator=at_least(1),
)
JOB_LEASE_SECONDS = GlobalConfigDef(
    "job", "lease.seconds", float, settings.JOB_LEASE_SECONDS,
    "seconds a running job's worker lease lasts; a job whose lease ran out (its worker died) "
    "is rolled back by the reaper", validator=at_least(1),
)
JOB_TIMEOUT_SECONDS = GlobalConfigDef(
    "job", "timeout.seconds", float, 6 * 3600.0,
    "seconds a flow may run before the reaper rolls it back, for flows that set no timeout of their own",
    validator=at_least(1),
)

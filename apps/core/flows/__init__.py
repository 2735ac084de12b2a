"""Flows: ordered steps with run/rollback, executed as Jobs by Celery workers.

``steps`` (Step kinds, Flow), ``context`` (what steps share), ``jobs`` (start, dispatch, cancel),
``runner`` (running a job), ``leases`` and ``reaper`` (jobs whose worker died), ``tasks`` (Celery)."""
from .context import Context
from .jobs import request_cancel, start_job
from .reaper import reap_jobs
from .runner import execute_job
from .steps import FLOWS, Flow, NoRollback, Step

__all__ = ["FLOWS", "Context", "Flow", "NoRollback", "Step", "execute_job", "reap_jobs", "request_cancel", "start_job"]

"""Flows: ordered steps with run/rollback, executed as Jobs by Celery workers.

``steps`` (step kinds, Flow), ``context`` (what steps share), ``jobs`` (start, dispatch, cancel),
``worker`` (claim and run a job), ``runner`` and ``progress`` (its steps and its record), ``leases``
and ``reaper`` (jobs whose worker died), ``tasks`` (Celery)."""
from .context import Context, ctx_cached, ctx_value
from .jobs import request_cancel, start_job
from .reaper import reap_jobs
from .steps import FLOWS, DbStep, Flow, NoRollback, RemoteStep, Step
from .worker import execute_job

__all__ = ["FLOWS", "Context", "DbStep", "Flow", "NoRollback", "RemoteStep", "Step", "ctx_cached", "ctx_value",
           "execute_job", "reap_jobs", "request_cancel", "start_job"]

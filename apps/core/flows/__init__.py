"""Flows: ordered steps with run/rollback, executed as Jobs by Celery workers."""
from .engine import FLOWS, Context, Flow, NoRollback, Step, execute_job, reap_jobs, request_cancel, start_job

__all__ = ["FLOWS", "Context", "Flow", "NoRollback", "Step", "execute_job", "reap_jobs", "request_cancel", "start_job"]

"""Celery discovers tasks in ``<app>.tasks``; the core's live with the flow engine."""
from .flows.tasks import reap_jobs, run_job  # noqa: F401

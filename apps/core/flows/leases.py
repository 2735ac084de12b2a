"""Leases: a running job's worker renews its lease; the reaper (``reaper.py``) takes over the jobs
whose lease ran out."""
import logging
import os
import threading
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from ..models import Job, JobState
from ..rowupdate import update_row

log = logging.getLogger(__name__)


class LeaseKeeper(threading.Thread):
    """One thread per process that renews the lease of every job the process is running, until
    each job's deadline: past it the lease is left to run out, so the reaper rolls back a job that
    hangs even though its worker is alive (nothing stays running forever). One long-lived thread
    with its own database connection, instead of a thread (and a connection) per job."""

    _instance = None
    _lock = threading.Lock()

    def __init__(self):
        super().__init__(daemon=True, name="job-lease-keeper")
        self.jobs = {}  # job pk -> (worker, lease seconds, deadline)
        self.wake = threading.Event()
        self.pid = os.getpid()

    @classmethod
    def get(cls):
        with cls._lock:
            keeper = cls._instance
            if keeper is None or keeper.pid != os.getpid() or not keeper.is_alive():
                keeper = cls._instance = cls()  # first use, or a forked child without the thread
                keeper.start()
            return keeper

    IDLE_INTERVAL = 60.0

    def _interval(self):
        leases = [lease for _, lease, _ in list(self.jobs.values())]
        return max(min(leases, default=3 * self.IDLE_INTERVAL) / 3.0, 0.2)

    def keep(self, job_pk, worker, lease, deadline):
        shorter = max(lease / 3.0, 0.2) < self._interval()
        self.jobs[job_pk] = (worker, lease, deadline)
        if shorter:
            self.wake.set()  # renew sooner than the thread planned to

    def drop(self, job_pk):
        self.jobs.pop(job_pk, None)

    def run(self):
        renewed = time.monotonic()
        while True:
            remaining = renewed + self._interval() - time.monotonic()
            if remaining > 0:
                self.wake.wait(remaining)
                self.wake.clear()
                continue
            renewed = time.monotonic()
            self.renew()

    def renew(self):
        now = timezone.now()
        for job_pk, (worker, lease, deadline) in list(self.jobs.items()):
            try:
                if now >= deadline:
                    log.warning("job %s passed its deadline; no longer renewing its lease", job_pk)
                    self.drop(job_pk)
                    continue
                expires = min(now + timedelta(seconds=lease), deadline)
                if not update_row(Job, {"id": job_pk, "state": JobState.RUNNING, "worker": worker},
                                  {"lease_expires_at": expires}):
                    self.drop(job_pk)  # finished, or taken over by the reaper
            except Exception:  # the jobs' own threads must not be hurt by a failed renewal
                log.exception("could not renew the lease of job %s", job_pk)
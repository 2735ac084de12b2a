"""Real Celery worker processes for tests, pointed at the test database.

Each test run gets its own queue so stale messages of another run never reach it.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url():
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"mysql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 3306}/{s['NAME']}"


class Workers:
    def __init__(self, count=2, include=("tests.core.flows_for_tests",), env=None):
        self.count = count
        self.include = include
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        self.extra_env = env or {}
        self.procs = []
        self.logdir = Path(tempfile.mkdtemp(prefix="cp-workers-"))

    def start(self):
        env = dict(os.environ)
        env.update({"DATABASE_URL": test_database_url(), "CELERY_TASK_DEFAULT_QUEUE": self.queue,
                    "PYTHONUNBUFFERED": "1"}, **self.extra_env)
        for index in range(self.count):
            log = self.logdir / f"worker{index}.log"
            argv = [sys.executable, "-m", "celery", "-A", "cloudportal", "worker", "--pool=solo", "-l", "INFO",
                    "-Q", self.queue, "-n", f"{self.queue}-{index}@%h", "--without-gossip", "--without-mingle",
                    "--without-heartbeat", "-f", str(log)]
            for module in self.include:
                argv += ["-I", module]
            self.procs.append(subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        deadline = time.time() + 60
        for index, proc in enumerate(self.procs):
            log = self.logdir / f"worker{index}.log"
            while "ready." not in (log.read_text() if log.exists() else ""):
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"worker {index} did not start:\n{self.logs()}")
                time.sleep(0.1)
        return self

    def pids(self):
        return [p.pid for p in self.procs]

    def kill(self, pid, signum=signal.SIGKILL):
        os.killpg(pid, signum)
        for proc in self.procs:
            if proc.pid == pid:
                proc.wait(timeout=10)

    def logs(self):
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.logdir.glob("*.log")))

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def wait_for(predicate, timeout=30, interval=0.05, message="condition", describe=None):
    """Poll ``predicate`` until it returns something true; on timeout fail, adding what
    ``describe()`` says about the state things were left in."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    found = f"; found {describe()}" if describe else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {message}{found}")

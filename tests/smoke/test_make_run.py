"""Smoke test: ``make run`` from a clean copy of the project, zero-setup.

Copies the working tree's files (tracked + untracked-but-not-ignored, so
uncommitted work is tested too) into a temporary directory, runs ``make run``
there with no DATABASE_URL/REDIS_URL/CELERY_BROKER_URL (SQLite + filesystem
Celery transport + database event relay), and drives the running portal over
HTTP and the websocket: login, zone + cluster, cascade delete as a job run by
the real worker, live job events. Then stops it with Ctrl-C (SIGINT to make's
process group) and checks that web, worker and beat are all gone. A second,
cheaper run in the same directory (venv already built) is stopped with SIGTERM.

Slow (a fresh venv is built by pip; the pip cache helps): marked ``smoke``.
"""
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import requests
import websockets

pytestmark = pytest.mark.smoke

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 480  # a fresh venv: pip install of requirements.txt (faster with pip's cache)
STOP_TIMEOUT = 20  # Ctrl-C to nothing left
JOB_TIMEOUT = 60
FINISHED = {"succeeded", "failed", "cancelled"}

# The child gets the zero-setup configuration whatever the test runner has (CI sets
# these for MariaDB/Redis); make's own variables would leak a parent make's jobserver.
STRIPPED_ENV = (
    "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CLOUDPORTAL_DATA_DIR", "SECRET_KEY",
    "EVENTS_BACKEND", "CELERY_TASK_ALWAYS_EAGER", "HOST", "PORT", "VIRTUAL_ENV",
    "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _project_files():
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (REPO / name).is_file()]


def _copy_project(dest):
    for name in _project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def _processes_under(directory):
    """Live processes whose cwd or command line is in ``directory`` (not this one)."""
    directory = str(directory)
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            cwd = proc.cwd()
        except (psutil.Error, OSError):
            cwd = ""
        cmdline = proc.info["cmdline"] or []
        if cwd.startswith(directory) or any(directory in arg for arg in cmdline):
            found.append(proc)
    return found


class Portal:
    """One ``make run`` in ``directory``, in its own process group."""

    def __init__(self, directory, password):
        self.dir = directory
        self.password = password
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / f"make-run-{self.port}.log"
        self.proc = None
        self.session = requests.Session()

    def start(self):
        env = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
        env.update(PORT=str(self.port), CLOUDPORTAL_ADMIN_PASSWORD=self.password, PYTHONUNBUFFERED="1")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["make", "run"], cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def log_tail(self, lines=60):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, message):
        pytest.fail(f"{message}\n--- make run output (tail) ---\n{self.log_tail()}")

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"make run exited with code {self.proc.returncode} before the portal answered")
            try:
                if requests.get(self.base + "/api/v1/", timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        self.fail(f"/api/v1/ did not answer within {timeout} s")

    def login(self):
        resp = self.session.post(self.base + "/api/v1/auth/login/",
                                 json={"username": "admin", "password": self.password}, timeout=10)
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["token"]
        self.session.headers["Authorization"] = f"Token {self.token}"
        return self.token

    def api(self, method, path, expect, **kwargs):
        resp = self.session.request(method, self.base + "/api/v1/" + path, timeout=15, **kwargs)
        if resp.status_code != expect:
            self.fail(f"{method} {path}: expected {expect}, got {resp.status_code}: {resp.text[:500]}")
        return resp.json() if resp.content else None

    def wait_job(self, job_uuid, timeout=JOB_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.api("GET", f"jobs/{job_uuid}/", 200)
            if job["state"] in FINISHED:
                return job
            time.sleep(0.3)
        self.fail(f"job {job_uuid} did not finish within {timeout} s (last: {job})")

    def stop(self, signum):
        """Signal make's process group; return seconds until nothing is left."""
        started = time.monotonic()
        os.killpg(self.proc.pid, signum)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"make did not exit within {STOP_TIMEOUT} s of {signal.Signals(signum).name}")
        while True:
            left = _processes_under(self.dir)
            if not left:
                return time.monotonic() - started
            if time.monotonic() - started > STOP_TIMEOUT:
                names = [f"{p.pid}: {' '.join(p.cmdline())[:120]}" for p in left if p.is_running()]
                self.fail(f"still running {STOP_TIMEOUT} s after {signal.Signals(signum).name}: {names}")
            time.sleep(0.2)

    def kill_everything(self):
        """Cleanup whatever happened: the make group, then anything started from the dir."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        for proc in _processes_under(self.dir):
            try:
                proc.kill()
            except psutil.Error:
                pass
        if getattr(self, "log", None):
            self.log.close()


@pytest.fixture(scope="module")
def workdir():
    directory = Path(tempfile.mkdtemp(prefix="cloudportal-smoke-"))
    _copy_project(directory)
    yield directory
    for proc in _processes_under(directory):  # nothing should be left; be sure
        try:
            proc.kill()
        except psutil.Error:
            pass
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def admin_password():
    return "smoke-" + secrets.token_urlsafe(12)


@pytest.fixture
def portal(workdir, admin_password):
    portal = Portal(workdir, admin_password)
    try:
        yield portal
    finally:
        portal.kill_everything()


async def _follow_delete_over_websocket(portal, zone_uuid):
    """Subscribe to the zone (before deleting it) and to the delete job (after);
    return (job uuid, the job events seen, whether the job was finished when subscribed)."""
    url = f"ws://127.0.0.1:{portal.port}/ws/events/?token={portal.token}"
    events = []

    async def receive_until(predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting on the websocket; got {events}")
            message = json.loads(await asyncio.wait_for(ws.recv(), remaining))
            assert message.get("type") != "error", message
            events.append(message)
            if predicate(message):
                return message

    async with websockets.connect(url, open_timeout=15) as ws:
        await ws.send(json.dumps({"subscribe": {"resource": zone_uuid}}))
        await receive_until(lambda m: m == {"type": "subscribed", "resource": zone_uuid}, 15)

        started = portal.api("DELETE", f"zones/{zone_uuid}/", 202)
        job_uuid = started["job"]["uuid"]
        await ws.send(json.dumps({"subscribe": {"job": job_uuid}}))
        await receive_until(lambda m: m == {"type": "subscribed", "job": job_uuid}, 15)
        finished_when_subscribed = portal.api("GET", f"jobs/{job_uuid}/", 200)["state"] in FINISHED

        # Job events also go to the resource's group, which we joined before the job
        # existed: the final event must arrive whatever the timing.
        await receive_until(
            lambda m: m.get("type") == "job" and m.get("uuid") == job_uuid and m.get("state") in FINISHED,
            JOB_TIMEOUT,
        )
        if not finished_when_subscribed:
            # The job was still running when we subscribed to it: its final event
            # arrives once more, through the job's own group.
            def final_count():
                return sum(1 for m in events if m.get("type") == "job" and m.get("uuid") == job_uuid
                           and m.get("state") in FINISHED)
            await receive_until(lambda m: final_count() >= 2, 15)
    return job_uuid, [m for m in events if m.get("type") == "job"], finished_when_subscribed


def test_make_run_end_to_end_then_ctrl_c(portal):
    portal.start()
    portal.wait_ready()
    portal.login()

    zone = portal.api("POST", "zones/", 201, json={"name": "smoke-zone"})
    cluster = portal.api("POST", "clusters/", 201,
                         json={"name": "smoke-cluster", "zone_uuid": zone["uuid"], "hypervisor_type": "KVM"})
    listed = portal.api("GET", "zones/", 200, params=[("q", "clusters.name=smoke-cluster"), ("fields", "uuid,name")])
    assert listed["results"] == [{"uuid": zone["uuid"], "name": "smoke-zone"}]

    started = portal.api("DELETE", f"zones/{zone['uuid']}/", 202)
    job = portal.wait_job(started["job"]["uuid"])
    assert job["state"] == "succeeded", job
    assert job["finished_at"] and all(step["state"] == "succeeded" for step in job["steps"]), job
    portal.api("GET", f"zones/{zone['uuid']}/", 404)
    portal.api("GET", f"clusters/{cluster['uuid']}/", 404)

    zone2 = portal.api("POST", "zones/", 201, json={"name": "smoke-zone-ws"})
    job_uuid, job_events, _ = asyncio.run(_follow_delete_over_websocket(portal, zone2["uuid"]))
    assert job_events and job_events[-1]["state"] == "succeeded", job_events
    assert portal.wait_job(job_uuid)["state"] == "succeeded"
    portal.api("GET", f"zones/{zone2['uuid']}/", 404)

    took = portal.stop(signal.SIGINT)
    print(f"make run stopped by SIGINT: nothing left after {took:.1f} s")
    assert took <= STOP_TIMEOUT


def test_make_run_again_then_make_demo_and_a_first_vm_then_sigterm(portal):
    """Second start in the same directory (venv, database and admin already there); `make demo`
    (twice: it is idempotent) prepares everything, and the VM it suggests runs on a simulated host."""
    portal.start()
    portal.wait_ready(timeout=120)
    portal.login()
    zone = portal.api("POST", "zones/", 201, json={"name": "smoke-zone-2"})
    started = portal.api("DELETE", f"zones/{zone['uuid']}/", 202)
    assert portal.wait_job(started["job"]["uuid"])["state"] == "succeeded"

    env = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
    env["PORT"] = str(portal.port)
    for attempt in (1, 2):
        demo = subprocess.run(["make", "demo"], cwd=portal.dir, env=env, capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL)
        assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "first VM is one call away" in demo.stdout
    # the login call it prints works as printed, once given the password
    login = demo.stdout.split("TOKEN=", 1)[1].split("\n\n", 1)[0].strip()
    shell = subprocess.run(["bash", "-c", f"TOKEN={login.replace('THE-PASSWORD', portal.password)}; echo $TOKEN"],
                           capture_output=True, text=True, timeout=30)
    assert len(shell.stdout.strip()) >= 20, shell.stdout + shell.stderr
    body = json.loads(demo.stdout.rsplit("-d '", 1)[1].rsplit("'", 1)[0])
    assert [h["name"] for h in portal.api("GET", "hosts/", 200, params={"q": "name~=demo-sim-%"})["results"]] \
        == ["demo-sim-1", "demo-sim-2"]   # the second run created nothing new
    created = portal.api("POST", "vm-instances/", 202, json=body)
    job = portal.wait_job(created["job"]["uuid"])
    assert job["state"] == "succeeded", job
    vm = portal.api("GET", f"vm-instances/{created['resource']['uuid']}/", 200)
    assert vm["state"] == "Running" and vm["nics"][0]["ip"].startswith("10.99.0.")

    took = portal.stop(signal.SIGTERM)
    print(f"make run stopped by SIGTERM: nothing left after {took:.1f} s")
    assert took <= STOP_TIMEOUT

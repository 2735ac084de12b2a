"""Start web + worker + beat as one supervised group (what ``make run`` calls), with the simulator
agent and, unless ALIBABA_CLOUD_ENDPOINT points elsewhere, the offline Alibaba Cloud emulator.

Ctrl-C or SIGTERM stops all three (each runs in its own process group: SIGTERM
to the process, then SIGKILL to its group after a grace period); if one of them
dies, the others are stopped too, so nothing is left behind.
"""
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from cloudportal import staticfiles, webserver

GRACE_SECONDS = 10
# the simulator agent's port beside web port 8000; another web port moves it by as much
SIM_AGENT_BASE_PORT = 7071
# the Alibaba Cloud emulator's port beside web port 8000, moved the same way
ALIBABA_EMULATOR_BASE_PORT = 7090
ALIBABA_EMULATOR_READY_SECONDS = 20
# the emulator's demo AccessKey unless ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID/_SECRET say otherwise: it
# only ever signs calls to the local emulator, which answers loopback clients
ALIBABA_DEMO_ACCESS_KEY_ID = "LTAI5tDemoKey0CloudPortal"
ALIBABA_DEMO_ACCESS_KEY_SECRET = "CloudPortalDemoSecret0000000000"


def port_in_use(host, port):
    """True when ``port`` on ``host`` cannot be bound now (something listens there). SO_REUSEADDR as
    the servers set it, so a port whose old connections are only in TIME_WAIT counts as free."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host or "127.0.0.1", port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        return False  # the server will say what is wrong with the address itself
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return True
    return False


def _free_port(host):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def sim_agent_address(web_port):
    """(host, port) for the simulator agent: ``SIM_AGENT_URL`` when it is set (a taken port is an
    error); else port 7071 moved by as much as the web port is from 8000, so two portals on one
    machine do not collide, or any free port when that one is taken."""
    explicit = os.environ.get("SIM_AGENT_URL")
    if explicit:
        url = urlsplit(explicit)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        if port_in_use(host, port):
            raise CommandError(f"port {port} of the simulator agent (SIM_AGENT_URL={explicit}) is already in use; "
                               "stop what listens there or set SIM_AGENT_URL to a free port")
        return host, port
    port = SIM_AGENT_BASE_PORT + web_port - 8000
    if not 1024 <= port <= 65535 or port == web_port or port_in_use("127.0.0.1", port):
        port = _free_port("127.0.0.1")
    return "127.0.0.1", port


def alibaba_emulator_port(web_port):
    """7090 moved by as much as the web port is from 8000 (a stable address across restarts), or 0
    (the emulator picks a free one) when that port is taken."""
    port = ALIBABA_EMULATOR_BASE_PORT + web_port - 8000
    if not 1024 <= port <= 65535 or port == web_port or port_in_use("127.0.0.1", port):
        return 0
    return port


def read_listening_line(proc, timeout):
    """The URL from the emulator's one stdout line `alibaba_emulator listening on URL`, or None when
    it exits or stays silent for ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            return None
        chunk = os.read(proc.stdout.fileno(), 256)
        if not chunk:
            return None
        line += chunk
    prefix = b"alibaba_emulator listening on "
    text = line.strip()
    return text[len(prefix):].decode() if text.startswith(prefix) else None


def _die_with_parent(signum=signal.SIGTERM):
    """In the child, before exec: get ``signum`` if this supervisor dies, even by
    SIGKILL, so web/worker/beat never outlive it (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signum)
    except OSError:
        pass  # not Linux: Ctrl-C and SIGTERM still stop everything


class Command(BaseCommand):
    help = "Run the CloudPortal web server, Celery worker and Celery beat together until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "2")))

    def handle(self, *args, host, port, concurrency, **options):
        python = sys.executable
        log_level = os.environ.get("LOG_LEVEL", "INFO")
        from django.conf import settings

        if port_in_use(host, port):
            raise CommandError(f"port {port} on {host} is already in use (another portal?); "
                               f"choose another with PORT=... make run or runportal --port")
        # the simulator agent serving every Simulator host (apps.compute.agent); the children are told
        # where it is and where the portal answers (agents send their events there)
        sim_host, sim_port = sim_agent_address(port)
        sim_url = f"http://{sim_host}:{sim_port}"
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.children = {}
        self.stopping = False
        self.alibaba_address = None
        # the offline Alibaba Cloud emulator first: web, worker and beat are told where it answers
        alibaba_env = {} if os.environ.get("ALIBABA_CLOUD_ENDPOINT") else self._start_alibaba_emulator(
            python, port, log_level, settings.DATA_DIR / "alibaba-emulator")
        # the console's CSS and JS served gzip-compressed from STATIC_ROOT (cloudportal/staticfiles.py)
        began = time.monotonic()
        env = dict(os.environ, SIM_AGENT_URL=sim_url, **alibaba_env, **staticfiles.collect())
        self.stdout.write(f"collected the static files into {settings.STATIC_ROOT} ({time.monotonic() - began:.1f} s)")
        env.setdefault("PORTAL_URL", f"http://{reachable}:{port}")
        settings.SIM_AGENT_URL = sim_url  # _revive_simulated_hosts below sends from this process
        token_file = settings.DATA_DIR / "sim_agent_token.run"
        token_file.write_text(settings.SIM_AGENT_TOKEN)
        token_file.chmod(0o600)
        commands = {
            "web": webserver.command(host, port, log_level),
            "worker": [python, "-m", "celery", "-A", "cloudportal", "worker", "-l", log_level,
                       "--concurrency", str(concurrency), "-n", f"worker-{os.getpid()}@%h"],
            "beat": [python, "-m", "celery", "-A", "cloudportal", "beat", "-l", log_level,
                     "--pidfile=", "-s", os.devnull],
            "sim-agent": [python, "-m", "hostagent", "--backend", "sim", "--listen", sim_host,
                          "--port", str(sim_port), "--admin-token-file", str(token_file),
                          "--log-level", log_level],
        }
        # the portal's own metrics (prometheus-client's multi-process files): counted afresh each run,
        # by the portal's processes only (the agent keeps its own)
        metrics_dir = Path(settings.PROMETHEUS_MULTIPROC_DIR)
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        agent_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for name, argv in commands.items():
            # orphaned beat is killed outright: it has nothing to finish (the schedule lives in the
            # database), and its SIGTERM handler first saves the schedule there, so it can wait on
            # the database (on SQLite, a 30 s busy timeout); CI saw it alive 20 s after the
            # supervisor was killed (cause not pinned down)
            orphaned = signal.SIGKILL if name == "beat" else signal.SIGTERM
            self.children[name] = subprocess.Popen(argv, start_new_session=True,
                                                   env=agent_env if name == "sim-agent" else env,
                                                   preexec_fn=lambda signum=orphaned: _die_with_parent(signum))
            self.stdout.write(f"started {name} (pid {self.children[name].pid})"
                              + (f" on {sim_url}" if name == "sim-agent" else ""))
        self._wait_ready(host, port)
        self._revive_simulated_hosts()
        code = 0
        try:
            while not self.stopping:
                for name, proc in self.children.items():
                    if proc.poll() is not None:
                        taken = {"web": (host, port), "sim-agent": (sim_host, sim_port),
                                 "alibaba-emulator": self.alibaba_address}.get(name)
                        why = (f" (port {taken[1]} is in use by another process)"
                               if taken and port_in_use(*taken) else "")
                        self.stderr.write(f"{name} exited with code {proc.returncode}{why}; stopping the rest")
                        code = 1
                        self.stopping = True
                        break
                time.sleep(0.5)
        finally:
            self._stop_all()
        sys.exit(code)

    def _start_alibaba_emulator(self, python, web_port, log_level, state_dir):
        """Start `python -m alibaba_emulator` supervised like the others, wait for its listening line,
        and return the variables that point web, worker and beat at it with the demo AccessKey."""
        from django.conf import settings

        key_id = os.environ.get("ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID") or ALIBABA_DEMO_ACCESS_KEY_ID
        key_secret = os.environ.get("ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET") or ALIBABA_DEMO_ACCESS_KEY_SECRET
        argv = [python, "-m", "alibaba_emulator", "--host", "127.0.0.1", "--port", str(alibaba_emulator_port(web_port)),
                "--state-dir", str(state_dir), "--log-level", log_level]
        # the secret through the environment, not argv: command lines are visible to every user
        emulator_env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        emulator_env.update(ALIBABA_EMULATOR_ACCESS_KEY_ID=key_id, ALIBABA_EMULATOR_ACCESS_KEY_SECRET=key_secret)
        proc = subprocess.Popen(argv, start_new_session=True, env=emulator_env, stdout=subprocess.PIPE,
                                cwd=settings.BASE_DIR, preexec_fn=_die_with_parent)
        self.children["alibaba-emulator"] = proc
        url = read_listening_line(proc, ALIBABA_EMULATOR_READY_SECONDS)
        if url is None:
            self._stop_all()
            raise CommandError("the Alibaba Cloud emulator did not start (see its log above); set "
                               "ALIBABA_CLOUD_ENDPOINT to use another endpoint instead")
        address = urlsplit(url)
        self.alibaba_address = (address.hostname, address.port)
        self.stdout.write(f"started alibaba-emulator (pid {proc.pid}) on {url}")
        return {"ALIBABA_CLOUD_ENDPOINT": url, "ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID": key_id,
                "ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET": key_secret}

    def _revive_simulated_hosts(self):
        """The simulator agent just started empty: have a worker register the Simulator hosts of the
        database again, so they answer as before the restart."""
        from celery import current_app

        try:  # by name: core starts the processes and knows no app's tasks
            current_app.send_task("apps.infra.tasks.revive_simulated_hosts")
        except Exception as exc:  # noqa: BLE001 - the portal runs anyway; the hosts reconnect by themselves
            self.stderr.write(f"could not ask a worker to re-register the simulated hosts: {exc}")

    def _on_signal(self, signum, frame):
        self.stopping = True

    def _wait_ready(self, host, port):
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/api/v1/"
        deadline = time.time() + 60
        while time.time() < deadline and not self.stopping:
            if self.children["web"].poll() is not None:
                return
            try:
                urllib.request.urlopen(url, timeout=2).read()
                self.stdout.write(self.style.SUCCESS(f"CloudPortal is ready at http://{host}:{port}/ "
                                                     "(Ctrl-C stops it)"))
                return
            except Exception:
                time.sleep(0.3)

    def _stop_all(self):
        # SIGTERM to each leader only: the Celery worker then does a warm shutdown
        # (finishes its running tasks, stops its pool). Signalling the worker's whole
        # group killed the pool children under it and left the worker hanging until
        # SIGKILL. Whatever is still alive after the grace period is killed by group.
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.time() + GRACE_SECONDS
        for proc in self.children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.children.values():
            self._signal_group(proc, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.stdout.write(f"stopped {', '.join(self.children)}")

    @staticmethod
    def _signal_group(proc, signum):
        try:
            os.killpg(proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

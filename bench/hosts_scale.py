#!/usr/bin/env python
"""Simulated hosts at scale: add N hosts and ping them (issue 3, P9).

Creates its own MariaDB database (default ``cloudportal_bench_hosts``), starts the
simulator agent and two Celery worker processes (Redis broker), then:

1. adds N Simulator hosts through the real API in-process (``POST /api/v1/hosts/``,
   the add-host flow on the workers: register in the simulator, connect, mark
   Connected) and reports the time until all are Connected;
2. with ``host.ping.interval=60``, runs the pinger (what beat calls) for
   ``--ping-seconds`` and reports the CPU it used (this process's user+system
   time, i.e. the portal side; the simulator agent is reported apart) as a share of
   one core, and how many pings went out.

Targets (docs/benchmarks.md): N=10,000 added and Connected in <= 5 minutes; pinging
10,000 hosts every minute at <= 15% of one core on average.

    .venv/bin/python bench/hosts_scale.py --hosts 10000
    .venv/bin/python bench/hosts_scale.py --hosts 500 --ping-seconds 30     # quick look
"""
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import arg_parser, free_port  # noqa: E402  (bench/benchlib.py)
DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_hosts"


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--hosts", type=int, default=10_000)
    p.add_argument("--ping-seconds", type=float, default=60.0, help="how long to run the pinger (default 60)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--redis", default="redis://127.0.0.1:6379/10", help="broker and cache (a db of its own)")
    p.add_argument("--workers", type=int, default=2)
    return p.parse_args()



def cpu_seconds(pid=None):
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def main():
    args = parse_args()
    import MySQLdb
    from urllib.parse import urlsplit

    url = urlsplit(args.database_url)
    name = url.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to use database {name!r}: its name must contain 'bench'")
    conn = MySQLdb.connect(host=url.hostname or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
                           passwd=url.password or "")
    conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    conn.close()

    token = uuid.uuid4().hex
    sim_port = free_port()
    queue = f"bench-hosts-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis,
               CELERY_TASK_DEFAULT_QUEUE=queue, SIM_AGENT_URL=f"http://127.0.0.1:{sim_port}",
               SIM_AGENT_TOKEN=token, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="cloudportal.settings")
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from django.conf import settings
    from rest_framework.test import APIClient

    from apps.accounts.models import ApiToken
    from apps.core.models import GlobalConfig
    from apps.core.testing import make_account
    from apps.infra.models import Cluster, Host, Zone
    from apps.infra.ping import ping_due_hosts

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    procs = [subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "sim", "--port", str(sim_port),
                               "--admin-token", token, "--log-level", "WARNING"], cwd=ROOT, env=env)]
    for i in range(args.workers):
        procs.append(subprocess.Popen([sys.executable, "-m", "celery", "-A", "cloudportal", "worker", "--pool=solo",
                                       "-Q", queue, "-n", f"{queue}-{i}@%h", "-l", "WARNING", "--without-gossip",
                                       "--without-mingle", "--without-heartbeat"], cwd=ROOT, env=env))
    try:
        time.sleep(4)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(make_account('bench-admin', admin=True))}")
        cluster = Cluster.objects.create(name="sim", zone=Zone.objects.create(name="bench"),
                                         hypervisor_type="Simulator")
        started = time.perf_counter()
        for i in range(args.hosts):
            response = client.post("/api/v1/hosts/", {"name": f"sim-{i}", "cluster_uuid": str(cluster.uuid),
                                                      "hypervisor_type": "Simulator", "cpu_num": 32,
                                                      "memory_size": 128 * 2 ** 30}, format="json")
            assert response.status_code == 202, response.content
        posted = time.perf_counter() - started
        while Host.objects.filter(status="Connected").count() < args.hosts:
            if time.perf_counter() - started > 1800:
                sys.exit("hosts not all Connected after 30 minutes")
            time.sleep(1)
        connected = time.perf_counter() - started
        failed = Host.objects.exclude(status="Connected").count()
        print(f"{args.hosts} hosts: API calls {posted:.1f} s, all Connected after {connected:.1f} s "
              f"({args.hosts / connected:.0f} hosts/s)")

        GlobalConfig.objects.update_or_create(category="host", name="ping.interval",
                                              defaults={"type": "int", "value": 60})
        Host.objects.update(last_ping_at=None)  # all due at once: the worst minute
        cpu0, agent0, wall0 = cpu_seconds(), cpu_seconds(procs[0].pid), time.perf_counter()
        pings = 0
        while time.perf_counter() - wall0 < args.ping_seconds:
            pings += ping_due_hosts()["pinged"]
            time.sleep(5)  # the beat tick (PING_TICK)
        wall = time.perf_counter() - wall0
        cpu, agent = cpu_seconds() - cpu0, cpu_seconds(procs[0].pid) - agent0
        minutes = wall / 60
        print(f"pinger: {pings} pings in {wall:.0f} s, portal CPU {cpu:.1f} s = {100 * cpu / wall:.1f}% of a core "
              f"({cpu / minutes:.1f} CPU-s per minute); simulator agent {100 * agent / wall:.1f}% of a core")
        result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "hosts": args.hosts,
                  "api_seconds": posted, "connected_seconds": connected, "not_connected": failed,
                  "ping": {"seconds": wall, "pings": pings, "portal_cpu_seconds": cpu,
                           "portal_core_share": cpu / wall, "agent_core_share": agent / wall}}
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"hosts_scale-{int(time.time())}.json").write_text(json.dumps(result, indent=2))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()

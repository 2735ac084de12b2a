#!/usr/bin/env python
"""VM creation at scale on simulated hosts (issue 4): POST /api/v1/vm-instances/ from many
concurrent clients over HTTP against the real web server, flows on real Celery workers.

Creates its own MariaDB database (default ``cloudportal_bench_vms``), then in this process
(flows run inline while preparing): a zone, a Simulator cluster with ``--hosts`` hosts, an
image store with a 64 MiB qcow2 image, local primary storage, a NoVlan L2 and an L3 with a
range big enough for every VM, an offering (1 CPU, 512 MiB). Then it starts the simulator
agent (already running for the preparation), the web server (uvicorn, as `make run`) and
``--workers`` Celery workers, and fires ``--vms`` creates from ``--clients`` threads, each
POST timed; it reports VMs/s (first POST to last Running) and the p50/p99 of POST -> Running
(the job's finish), beside ZStack's published simulator figure (5,000 VMs in 139.7 s, 36 VMs/s).

Target (docs/benchmarks.md): >= 60 VMs/s on the 2-core machine against MariaDB.

    .venv/bin/python bench/vm_create.py                              # 1,000 hosts, 10,000 VMs, 100 clients
    .venv/bin/python bench/vm_create.py --hosts 100 --vms 1000       # quick look
"""
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import arg_parser, free_port, interpreter, speed_probe, wait_for_workers  # noqa: E402  (bench/benchlib.py)
from cloudportal import webserver  # noqa: E402
DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_vms"
GIB, MIB = 1 << 30, 1 << 20


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--vms", type=int, default=10_000)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--workers", type=int, default=3, help="Celery worker processes (solo pool)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="broker, cache and channel layer")
    return p.parse_args()



def cpu_seconds(pid):
    """user+system CPU seconds of process ``pid`` (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_pid(name):
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else None


def portal_roles(procs):
    """The processes whose CPU a run counts: ``procs`` = [sim agent, web server, *workers] as the
    benchmark started them, the database and Redis servers, and this process (the clients)."""
    return {"sim agent": [procs[0].pid], "web (uvicorn)": [procs[1].pid], "workers": [p.pid for p in procs[2:]],
            "mariadbd": [service_pid("mariadbd")], "redis-server": [service_pid("redis-server")],
            "clients (this process)": [os.getpid()]}


def cpu_by_role(roles):
    return {role: sum(cpu_seconds(pid) for pid in pids if pid) for role, pids in roles.items()}


def job_outcome(posted, started):
    """What became of the jobs ``posted`` ({job uuid: when posted}) since ``started``: the uuids
    and finish times of those that succeeded, the uuids of the others, the last finish, each
    one's POST -> finished latency, and the rate (succeeded per second)."""
    from apps.core.models import Job

    jobs = list(Job.objects.filter(uuid__in=list(posted)).values_list("uuid", "state", "finished_at"))
    done = [(str(u), f.timestamp()) for u, s, f in jobs if s == "succeeded"]
    failed = [str(u) for u, s, _ in jobs if s != "succeeded"]
    last = max(t for _, t in done)
    latencies = [t - posted[u] for u, t in done]
    return done, failed, last, latencies, len(done) / (last - started)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def fresh_database(url):
    import MySQLdb
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to use database {name!r}: its name must contain 'bench'")
    conn = MySQLdb.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                           user=parts.username or "root", passwd=parts.password or "")
    conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    conn.close()


def prepare(args, workdir):
    """The environment, made through the API in this process (flows inline)."""
    from rest_framework.test import APIClient

    from apps.accounts.models import ApiToken
    from apps.core.testing import make_account
    from apps.infra.models import Cluster, Zone
    from cloudportal.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    admin = make_account("bench-admin", admin=True)
    token = ApiToken.issue(admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    def ok(response):
        assert response.status_code in (200, 201, 202), response.content
        return response.json()

    zone = Zone.objects.create(name="bench")
    cluster = Cluster.objects.create(name="sim", zone=zone, hypervisor_type="Simulator")
    started = time.perf_counter()
    for i in range(args.hosts):
        ok(client.post("/api/v1/hosts/", {"name": f"sim-{i}", "cluster_uuid": str(cluster.uuid),
                                          "hypervisor_type": "Simulator", "cpu_num": 32,
                                          "memory_size": 256 * GIB}, format="json"))
    print(f"prepared {args.hosts} hosts in {time.perf_counter() - started:.0f} s", flush=True)
    bs = ok(client.post("/api/v1/backup-storage/", {"name": "bs", "type": "ImageStore",
                                                    "url": str(workdir / "bs")}, format="json"))
    ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": str(zone.uuid)}, format="json"))
    source = workdir / "image.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(source), "64M"], check=True)
    image = ok(client.post("/api/v1/images/", {"name": "img", "url": f"file://{source}",
                                               "backup_storage_uuids": [bs["uuid"]], "platform": "Linux"},
                           format="json"))["resource"]
    ps = ok(client.post("/api/v1/primary-storage/", {"name": "local", "type": "LocalStorage",
                                                     "url": "/var/lib/cp/ps", "zone_uuid": str(zone.uuid)},
                        format="json"))
    ok(client.post(f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)},
                   format="json"))
    l2 = ok(client.post("/api/v1/l2-networks/", {"name": "flat", "type": "NoVlan", "physical_interface": "eth0",
                                                 "zone_uuid": str(zone.uuid)}, format="json"))
    ok(client.post(f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)}, format="json"))
    l3 = ok(client.post("/api/v1/l3-networks/", {"name": "flat", "l2_network_uuid": l2["uuid"], "dns": ["10.0.0.53"]},
                        format="json"))
    ok(client.post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
        "start_ip": "10.64.0.2", "end_ip": "10.127.255.254", "netmask": "255.192.0.0", "gateway": "10.64.0.1"},
        format="json"))
    offering = ok(client.post("/api/v1/instance-offerings/", {"name": "small", "cpu_num": 1,
                                                               "memory_size": 512 * MIB}, format="json"))
    celery_app.conf.task_always_eager = False
    return token, {"name": "vm", "instance_offering_uuid": offering["uuid"], "image_uuid": image["uuid"],
                   "l3_network_uuids": [l3["uuid"]]}


def main():
    args = parse_args()
    fresh_database(args.database_url)
    token_admin = uuid.uuid4().hex
    sim_port, web_port = free_port(), free_port()
    queue = f"bench-vms-{uuid.uuid4().hex[:8]}"
    workdir = Path(f"/tmp/cp-bench-vms-{uuid.uuid4().hex[:8]}")
    workdir.mkdir()
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis,
               CELERY_TASK_DEFAULT_QUEUE=queue, SIM_AGENT_URL=f"http://127.0.0.1:{sim_port}",
               SIM_AGENT_TOKEN=token_admin, PORTAL_URL=f"http://127.0.0.1:{web_port}", LOG_LEVEL="WARNING",
               DJANGO_SETTINGS_MODULE="cloudportal.settings", CLOUDPORTAL_DATA_DIR=str(workdir / "data"))
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from django.conf import settings

    from apps.core.models import Job

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    procs = [subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "sim", "--port", str(sim_port),
                               "--admin-token", token_admin, "--log-level", "WARNING"], cwd=ROOT, env=env)]
    try:
        time.sleep(2)
        token, body = prepare(args, workdir)
        procs.append(subprocess.Popen(webserver.command("127.0.0.1", web_port, "warning"), cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for i in range(args.workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "celery", "-A", "cloudportal", "worker",
                                           "--pool=solo", "-Q", queue, "-n", f"{queue}-{i}@%h", "-l", "WARNING",
                                           "--without-gossip", "--without-mingle", "--without-heartbeat"],
                                          cwd=ROOT, env=env))
        wait_for_workers(queue, args.workers)
        posted = {}  # job uuid -> POST wall time
        statuses = []
        lock = threading.Lock()
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

        def client(indices):
            conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=120)
            for index in indices:
                sent = time.time()
                conn.request("POST", "/api/v1/vm-instances/", json.dumps({**body, "name": f"vm-{index}"}), headers)
                response = conn.getresponse()
                data = json.loads(response.read())
                with lock:
                    statuses.append(response.status)
                    if response.status == 202:
                        posted[data["job"]["uuid"]] = sent
            conn.close()

        batches = [range(i, args.vms, args.clients) for i in range(args.clients)]
        # where the CPU goes while the VMs are made: each process of the portal, the services
        roles = portal_roles(procs)
        cpu0 = cpu_by_role(roles)
        load_before = os.getloadavg()[0]
        probe_before = speed_probe()
        started = time.time()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(client, batches))
        api_seconds = time.time() - started
        print(f"{args.vms} POSTs from {args.clients} clients in {api_seconds:.1f} s "
              f"({args.vms / api_seconds:.0f}/s); statuses {sorted(set(statuses))}", flush=True)
        while Job.objects.filter(action="create-vm", state__in=["pending", "running"]).exists():
            if time.time() - started > 3600:
                sys.exit("creates not finished after an hour")
            time.sleep(1)
        cpu = {role: seconds - cpu0[role] for role, seconds in cpu_by_role(roles).items()}
        probe_after = speed_probe()
        done, failed, last, latencies, rate = job_outcome(posted, started)
        print(f"{len(done)} VMs Running, {len(failed)} failed; {rate:.1f} VMs/s (first POST to last Running, "
              f"{last - started:.1f} s); POST -> Running p50 {percentile(latencies, .5):.2f} s, "
              f"p99 {percentile(latencies, .99):.2f} s; ZStack's simulator: 36 VMs/s; "
              f"load {load_before:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)
        print("CPU per VM: " + ", ".join(f"{role} {1000 * seconds / max(1, len(done)):.1f} ms"
                                         for role, seconds in cpu.items()), flush=True)
        print(f"machine speed probe (bench/benchlib.py speed_probe, lower is faster): {probe_before:.1f} ms "
              f"before, {probe_after:.1f} ms after; Python {interpreter()}", flush=True)
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"vm_create-{int(time.time())}.json").write_text(json.dumps({
            "machine": {"cpus": os.cpu_count(), "python": interpreter(), "load": os.getloadavg()},
            "hosts": args.hosts, "vms": args.vms, "clients": args.clients, "workers": args.workers,
            "api_seconds": api_seconds, "running": len(done), "failed": len(failed), "vms_per_second": rate,
            "p50": percentile(latencies, .5), "p99": percentile(latencies, .99),
            "speed_probe_ms": [probe_before, probe_after],
            "mean": statistics.mean(latencies) if latencies else None,
            "cpu_ms_per_vm": {role: 1000 * seconds / max(1, len(done)) for role, seconds in cpu.items()}}, indent=2))
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()

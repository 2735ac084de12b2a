#!/usr/bin/env python
"""Data volume attaches at scale on simulated hosts (issue 19): POST /api/v1/volumes/<uuid>/attach/
from many concurrent clients over HTTP against the real web server, flows on real Celery workers,
the simulator agent making each volume's file and hot-plugging it.

Prepares (in this process, flows inline, as bench/vm_create.py does): ``--hosts`` simulated hosts,
an image, local primary storage, a network, ``--attaches`` running VMs and as many NotInstantiated
16 MiB data volumes. Then the web server, ``--workers`` Celery workers and ``--clients`` threads
attach one volume to each VM (each attach: the VM claimed, room reserved on its host, the file
made, the rows, the hot plug). Reports attaches/s (first POST to last job finished) and the
p50/p99 of POST -> attached.

Target (docs/benchmarks.md, "volume_attach"): 1,000 attaches >= 50/s on the 2-core machine.

    .venv/bin/python bench/volume_attach.py                       # 100 hosts, 1,000 attaches
    .venv/bin/python bench/volume_attach.py --attaches 200        # quick look
"""
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import arg_parser, free_port, interpreter, speed_probe, wait_for_workers  # noqa: E402  (bench/benchlib.py)
from cloudportal import webserver  # noqa: E402
from vm_create import cpu_by_role, fresh_database, job_outcome, percentile, portal_roles, prepare  # noqa: E402

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_volumes"
MIB = 1 << 20


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--hosts", type=int, default=100)
    p.add_argument("--attaches", type=int, default=1000, help="VMs, volumes and attaches (one per VM)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--workers", type=int, default=3, help="Celery worker processes (solo pool)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--redis", default="redis://127.0.0.1:6379/10", help="broker, cache and channel layer")
    return p.parse_args()


def make_vms_and_volumes(token, body, count):
    """``count`` running VMs and as many NotInstantiated volumes, inline in this process."""
    from rest_framework.test import APIClient

    from cloudportal.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    started = time.perf_counter()
    pairs = []
    for i in range(count):
        vm = client.post("/api/v1/vm-instances/", {**body, "name": f"vm-{i}"}, format="json")
        assert vm.status_code == 202, vm.content
        volume = client.post("/api/v1/volumes/", {"name": f"data-{i}", "size": 16 * MIB}, format="json")
        assert volume.status_code == 202, volume.content
        pairs.append((volume.json()["resource"]["uuid"], vm.json()["resource"]["uuid"]))
    celery_app.conf.task_always_eager = False
    print(f"prepared {count} VMs and volumes in {time.perf_counter() - started:.0f} s", flush=True)
    return pairs


def wait_for_web(port, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit("the web server did not answer")


def main():
    args = parse_args()
    fresh_database(args.database_url)
    token_admin = uuid.uuid4().hex
    sim_port, web_port = free_port(), free_port()
    queue = f"bench-volumes-{uuid.uuid4().hex[:8]}"
    workdir = Path(f"/tmp/cp-bench-volumes-{uuid.uuid4().hex[:8]}")
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
        pairs = make_vms_and_volumes(token, body, args.attaches)
        procs.append(subprocess.Popen(webserver.command("127.0.0.1", web_port, "warning"), cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for i in range(args.workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "celery", "-A", "cloudportal", "worker",
                                           "--pool=solo", "-Q", queue, "-n", f"{queue}-{i}@%h", "-l", "WARNING",
                                           "--without-gossip", "--without-mingle", "--without-heartbeat"],
                                          cwd=ROOT, env=env))
        wait_for_web(web_port)
        wait_for_workers(queue, args.workers)
        posted, statuses, lock = {}, [], threading.Lock()
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

        def client(indices):
            conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=120)
            for index in indices:
                volume_uuid, vm_uuid = pairs[index]
                sent = time.time()
                conn.request("POST", f"/api/v1/volumes/{volume_uuid}/attach/",
                             json.dumps({"vm_instance_uuid": vm_uuid}), headers)
                response = conn.getresponse()
                data = json.loads(response.read())
                with lock:
                    statuses.append(response.status)
                    if response.status == 202:
                        posted[data["job"]["uuid"]] = sent
            conn.close()

        batches = [range(i, args.attaches, args.clients) for i in range(args.clients)]
        roles = portal_roles(procs)
        cpu0 = cpu_by_role(roles)
        probe_before = speed_probe()
        started = time.time()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(client, batches))
        api_seconds = time.time() - started
        print(f"{args.attaches} POSTs from {args.clients} clients in {api_seconds:.1f} s; "
              f"statuses {sorted(set(statuses))}", flush=True)
        while Job.objects.filter(action="attach-data-volume", state__in=["pending", "running"]).exists():
            if time.time() - started > 1800:
                sys.exit("attaches not finished after 30 minutes")
            time.sleep(0.5)
        cpu = {role: seconds - cpu0[role] for role, seconds in cpu_by_role(roles).items()}
        probe_after = speed_probe()
        done, failed, last, latencies, rate = job_outcome(posted, started)
        print(f"{len(done)} attached, {len(failed)} failed; {rate:.1f} attaches/s (first POST to last job "
              f"finished, {last - started:.1f} s); POST -> attached p50 {percentile(latencies, .5):.2f} s, "
              f"p99 {percentile(latencies, .99):.2f} s", flush=True)
        print("CPU per attach: " + ", ".join(f"{role} {1000 * seconds / max(1, len(done)):.1f} ms"
                                             for role, seconds in cpu.items()), flush=True)
        print(f"machine speed probe (lower is faster): {probe_before:.1f} ms before, {probe_after:.1f} ms after; "
              f"Python {interpreter()}", flush=True)
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"volume_attach-{int(time.time())}.json").write_text(json.dumps({
            "machine": {"cpus": os.cpu_count(), "python": interpreter(), "load": os.getloadavg()},
            "hosts": args.hosts, "attaches": args.attaches, "clients": args.clients, "workers": args.workers,
            "attached": len(done), "failed": len(failed), "attaches_per_second": rate,
            "p50": percentile(latencies, .5), "p99": percentile(latencies, .99),
            "cpu_ms_per_attach": {role: 1000 * s / max(1, len(done)) for role, s in cpu.items()}}, indent=2))
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

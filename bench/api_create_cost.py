#!/usr/bin/env python
"""What one ``POST /api/v1/vm-instances/`` costs the web process: CPU ms and SQL statements.

Only the web side of a VM create: the flows are NOT run. The jobs are dispatched to a
Celery queue in Redis that nobody consumes (purged at the end), so the figures are the
request's own: validation, the VM row, the job, the audit log, the events, the response.

Creates its own MariaDB database (default ``cloudportal_bench_api``; the name must contain
"bench"), then prepares in this process (flows inline, as bench/vm_create.py does) a zone,
a Simulator cluster with ``--hosts`` hosts (the simulator agent is started for that), an
image store with a small qcow2 image, local primary storage, an L2 and an L3 with a /10
range, and an offering. Then:

* over HTTP (the real thing): runs the web server (uvicorn) as ``make run`` does (in a child
  process of this script that also counts the SQL statements Django sends and the database
  connections it opens), warms it up, then ``--rounds`` times fires ``--posts`` creates from
  ``--clients`` threads with one keep-alive connection each, and reads the server's CPU time
  from /proc/<pid>/stat before and after (other load on the machine inflates it: see the load);
* in process (``--mode in-process``; both modes by default): the same POSTs through django.test.Client
  (full middleware and DRF stack, no ASGI server), CPU from time.process_time() and the
  statements captured by Django.

    .venv/bin/python bench/api_create_cost.py                  # 500 POSTs, 20 clients, both modes
    .venv/bin/python bench/api_create_cost.py --posts 2000 --mode http
    .venv/bin/python bench/api_create_cost.py --profile         # py-spy --gil over the web server (needs py-spy)
    .venv/bin/python bench/api_create_cost.py --mode in-process --cprofile out.txt   # cProfile in process
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import arg_parser  # noqa: E402  (bench/benchlib.py)
DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_api"


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--posts", type=int, default=500)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3, help="measured rounds of --posts each (HTTP); the median is kept")
    p.add_argument("--clients", type=int, default=20, help="concurrent HTTP clients (keep-alive connections)")
    p.add_argument("--hosts", type=int, default=5)
    p.add_argument("--mode", choices=["both", "http", "in-process"], default="both")
    p.add_argument("--tenant", action="store_true", help="POST as a normal account instead of the admin")
    p.add_argument("--cprofile", metavar="FILE",
                   help="in process: write a cProfile of the measured POSTs here (pstats text, by own time "
                        "and by cumulative time)")
    p.add_argument("--profile", action="store_true",
                   help="record a py-spy --gil profile of the web server (speedscope)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="broker, cache and channel layer")
    return p.parse_args()


def serve(port, stats_path):
    """Run the web server (uvicorn, as `make run` does) in this process, counting the SQL statements
    Django sends and the connections it opens; SIGUSR1 writes the counts to ``stats_path``."""
    import signal

    from django.db.backends.signals import connection_created

    counts = {"statements": 0, "connections": 0}

    def counted(execute, sql, params, many, context):
        counts["statements"] += 1
        return execute(sql, params, many, context)

    def created(sender, connection, **kwargs):
        counts["connections"] += 1
        if counted not in connection.execute_wrappers:
            connection.execute_wrappers.append(counted)

    connection_created.connect(created, weak=False)
    signal.signal(signal.SIGUSR1, lambda *_: Path(stats_path).write_text(json.dumps(counts)))
    import uvicorn

    from cloudportal import webserver

    # as webserver.command() starts it, in this process so that the counts above see its requests
    uvicorn.run(webserver.APPLICATION, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                access_log=False)


def server_counts(proc, stats_path):
    import signal

    Path(stats_path).unlink(missing_ok=True)
    proc.send_signal(signal.SIGUSR1)
    for _ in range(200):
        try:
            return json.loads(Path(stats_path).read_text())
        except (OSError, ValueError):
            time.sleep(0.01)
    raise RuntimeError("the web server did not report its statement counts")


def run_http(args, env, token, body):
    from benchlib import free_port
    from vm_create import cpu_seconds

    port = free_port()
    bindir = Path(sys.executable).parent
    stats = f"/tmp/cp-bench-api-{port}.json"
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), stats], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/v1/")
                break
            except OSError:
                time.sleep(0.1)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        statuses = Counter()
        lock = threading.Lock()

        def client(indices):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for index in indices:
                conn.request("POST", "/api/v1/vm-instances/", json.dumps({**body, "name": f"vm-{index}"}), headers)
                response = conn.getresponse()
                response.read()
                with lock:
                    statuses[response.status] += 1
            conn.close()

        def fire(count, offset):
            threads = [threading.Thread(target=client, args=(range(offset + i, offset + count, args.clients),))
                       for i in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        fire(args.warmup, 0)
        statuses.clear()
        profiler = None
        if args.profile:
            out = ROOT / "bench" / "results" / f"api_create_cost-{int(time.time())}.speedscope.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            py_spy = str(bindir / "py-spy") if (bindir / "py-spy").exists() else "py-spy"
            profiler = subprocess.Popen([py_spy, "record", "--gil", "-r", "200", "-f", "speedscope", "-o", str(out),
                                         "-p", str(server.pid)], stdout=subprocess.DEVNULL)
            time.sleep(1)
        rounds = []
        for r in range(args.rounds):
            statuses.clear()
            q0, cpu0, wall0 = server_counts(server, stats), cpu_seconds(server.pid), time.perf_counter()
            fire(args.posts, args.warmup + r * args.posts)
            wall = time.perf_counter() - wall0
            cpu, q1 = cpu_seconds(server.pid) - cpu0, server_counts(server, stats)
            n = args.posts
            rounds.append({"cpu_ms": 1000 * cpu / n, "statements": (q1["statements"] - q0["statements"]) / n,
                           "connections": (q1["connections"] - q0["connections"]) / n, "posts_per_s": n / wall,
                           "statuses": dict(statuses), "load": os.getloadavg()[0]})
            print(f"HTTP (uvicorn, {args.clients} clients) round {r + 1}: {n} POSTs in {wall:.1f} s "
                  f"({n / wall:.0f}/s), "
                  f"statuses {dict(statuses)}; server CPU {rounds[-1]['cpu_ms']:.2f} ms/POST; SQL statements "
                  f"{rounds[-1]['statements']:.2f}/POST (without connection set-up), new connections "
                  f"{rounds[-1]['connections']:.2f}/POST; "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
        if profiler is not None:
            profiler.send_signal(2)
            profiler.wait(60)
            print(f"profile: {out}")
        median = sorted(rounds, key=lambda x: x["cpu_ms"])[len(rounds) // 2]
        print(f"HTTP median: server CPU {median['cpu_ms']:.2f} ms/POST, {median['statements']:.2f} statements/POST "
              f"(min {min(x['cpu_ms'] for x in rounds):.2f} ms)", flush=True)
        return {"median": median, "rounds": rounds}
    finally:
        server.terminate()
        server.wait(20)


def run_in_process(args, token, body):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    def post(index):
        response = client.post("/api/v1/vm-instances/", {**body, "name": f"ip-{index}"},
                               content_type="application/json")
        assert response.status_code == 202, response.content
        return response

    for i in range(args.warmup):
        post(i)
    with CaptureQueriesContext(connection) as queries:
        post(args.warmup)
    statements = [q["sql"] for q in queries.captured_queries]  # read now: the next request resets the log
    kinds = Counter(sql.split()[0].upper() for sql in statements)
    profiler = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(args.posts):
        post(args.warmup + 1 + i)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(60)
        stats.sort_stats("cumulative").print_stats(120)
        Path(args.cprofile).write_text(out.getvalue())
        print(f"profile written to {args.cprofile} (CPU figures above include the profiler)")
    n = args.posts
    print(f"in process (django.test.Client): {n} POSTs, CPU {1000 * cpu / n:.2f} ms/POST "
          f"(wall {1000 * wall / n:.2f} ms); {len(statements)} SQL statements/POST {dict(kinds)}", flush=True)
    for sql in statements:
        print("   ", sql[:160])
    return {"cpu_ms": 1000 * cpu / n, "statements": len(statements)}


def main():
    if sys.argv[1:2] == ["--serve"]:
        return serve(int(sys.argv[2]), sys.argv[3])
    from vm_create import fresh_database, prepare

    args = parse_args()
    fresh_database(args.database_url)
    token_admin = uuid.uuid4().hex
    from benchlib import free_port

    sim_port = free_port()
    queue = f"bench-api-{uuid.uuid4().hex[:8]}"  # nobody consumes it: the flows do not run
    workdir = Path(f"/tmp/cp-bench-api-{uuid.uuid4().hex[:8]}")
    workdir.mkdir()
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis,
               CELERY_TASK_DEFAULT_QUEUE=queue, SIM_AGENT_URL=f"http://127.0.0.1:{sim_port}",
               SIM_AGENT_TOKEN=token_admin, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="cloudportal.settings",
               CLOUDPORTAL_DATA_DIR=str(workdir / "data"))
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    agent = subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "sim", "--port", str(sim_port),
                              "--admin-token", token_admin, "--log-level", "WARNING"], cwd=ROOT, env=env)
    results = {}
    try:
        time.sleep(2)
        prep = argparse.Namespace(hosts=args.hosts)
        token, body = prepare(prep, workdir)
        if args.tenant:
            from apps.accounts.models import ApiToken
            from apps.core.testing import make_account
            from apps.storage.models import Image

            Image.objects.filter(uuid=body["image_uuid"]).update(public=True)
            token = ApiToken.issue(make_account("bench-tenant"))
        agent.terminate()  # not needed any more: no flow runs
        if args.mode in ("both", "http"):
            results["http"] = run_http(args, env, token, body)
        if args.mode in ("both", "in-process"):
            results["in_process"] = run_in_process(args, token, body)
    finally:
        agent.terminate()
        agent.wait(20)
        from cloudportal.celery import app as celery_app

        with celery_app.connection_for_write() as conn:
            purged = conn.default_channel.queue_purge(queue) or 0
        print(f"purged {purged} undelivered jobs from queue {queue}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"api_create_cost-{int(time.time())}.json").write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}, "posts": args.posts,
        "clients": args.clients, "tenant": args.tenant, **results}, indent=2))


if __name__ == "__main__":
    main()

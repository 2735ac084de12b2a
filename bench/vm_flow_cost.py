#!/usr/bin/env python
"""CPU and SQL statements of one VM create flow in a worker (issue 4's throughput target), in
this process: what the workers spend per VM, without the web server, the broker or other load in
the figures.

Creates its own MariaDB database (default ``cloudportal_bench_flowcost``), the same environment as
bench/vm_create.py (``--hosts`` Simulator hosts, image, local primary storage, L2/L3, offering)
through the API, then for each of ``--vms`` VMs: POST /api/v1/vm-instances/ (the job waits in a
queue nobody reads) and run the job here with ``execute_job``, timing only that (process CPU time
and wall time) and counting its SQL statements. Prints the mean and p50 per flow and the
statements per step kind.

    .venv/bin/python bench/vm_flow_cost.py                   # 100 hosts, 300 VMs
    .venv/bin/python bench/vm_flow_cost.py --profile out.txt # also a cProfile of the flows
    .venv/bin/python bench/vm_flow_cost.py --show-sql        # and the statements of one flow
"""
import argparse
import collections
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import free_port  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_flowcost"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hosts", type=int, default=100)
    p.add_argument("--vms", type=int, default=300)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    p.add_argument("--profile", help="write a cProfile of the flows (pstats text, by cumulative time) here")
    p.add_argument("--show-sql", action="store_true", help="print the statements of the last flow (cut at 160 chars)")
    args = p.parse_args()

    import vm_create as scale  # bench/vm_create.py: the same database reset and environment

    scale.fresh_database(args.database_url)
    sim_port = free_port()
    workdir = Path(f"/tmp/cp-bench-flowcost-{uuid.uuid4().hex[:8]}")
    workdir.mkdir()
    token_admin = uuid.uuid4().hex
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis,
               CELERY_TASK_DEFAULT_QUEUE=f"bench-flowcost-{uuid.uuid4().hex[:8]}",
               SIM_AGENT_URL=f"http://127.0.0.1:{sim_port}", SIM_AGENT_TOKEN=token_admin, LOG_LEVEL="WARNING",
               DJANGO_SETTINGS_MODULE="cloudportal.settings", CLOUDPORTAL_DATA_DIR=str(workdir / "data"))
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    agent = subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "sim", "--port", str(sim_port),
                              "--admin-token", token_admin, "--log-level", "WARNING"], cwd=ROOT, env=env)
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.db import connection
        from rest_framework.test import APIClient

        from apps.core.flows import execute_job

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        time.sleep(2)
        token, body = scale.prepare(argparse.Namespace(hosts=args.hosts), workdir)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        statements, last_sql = [], []

        def count(execute, sql, params, many, context):
            statements.append(sql.split(None, 1)[0].upper())
            if args.show_sql:
                last_sql.append(sql)
            return execute(sql, params, many, context)

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
        cpu, wall, per_flow, kinds = [], [], [], collections.Counter()
        for index in range(args.vms):
            response = client.post("/api/v1/vm-instances/", {**body, "name": f"vm-{index}"}, format="json")
            assert response.status_code == 202, response.content
            job_uuid = response.json()["job"]["uuid"]
            statements.clear()
            last_sql.clear()
            c0, w0 = time.process_time(), time.perf_counter()
            with connection.execute_wrapper(count):
                if profiler:
                    profiler.enable()
                job = execute_job(job_uuid)
                if profiler:
                    profiler.disable()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            assert job.state == "succeeded", job.error
            if index >= 10:  # warm-up excluded
                per_flow.append(len(statements))
                kinds.update(statements)
        cpu, wall = cpu[10:], wall[10:]
        n = len(per_flow)
        print(f"{args.vms} create flows ({n} measured) on {args.hosts} hosts: CPU per flow mean "
              f"{1000 * statistics.mean(cpu):.1f} ms, p50 {1000 * statistics.median(cpu):.1f} ms; wall mean "
              f"{1000 * statistics.mean(wall):.1f} ms; SQL statements per flow {statistics.mean(per_flow):.1f} ("
              + ", ".join(f"{k} {v / n:.1f}" for k, v in kinds.most_common()) + ")", flush=True)
        for number, sql in enumerate(last_sql, 1):
            print(f"{number:3d} {' '.join(sql.split())[:160]}")
        if profiler:
            import io
            import pstats

            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(80)
            Path(args.profile).write_text(out.getvalue())
            print(f"profile written to {args.profile}")
    finally:
        agent.terminate()
        agent.wait(10)


if __name__ == "__main__":
    main()

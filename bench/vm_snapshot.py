#!/usr/bin/env python
"""Portal overhead of a VM snapshot of 4 volumes (issue 19's target: <= 1 s): the flow's wall time
minus the time spent waiting for the agent, on a simulated host.

Creates its own MariaDB database (default ``cloudportal_bench_snapshot``), a simulated host and a
VM through the API (bench/vm_create.py's environment, one host), gives the VM 3 data volumes (rows
and files on the simulated host, as the data volume feature makes them), then ``--snapshots`` times:
``POST /api/v1/vm-instances/<uuid>/snapshot/`` (timed: the API's share) and the job run here with
``execute_job`` (timed; the agent calls inside it timed apart). Prints p50/max of each and of the
overhead (flow minus agent).

    .venv/bin/python bench/vm_snapshot.py                 # 50 snapshots
    .venv/bin/python bench/vm_snapshot.py --latency 0.05  # the simulator answers each call in 50 ms
"""
import argparse
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

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_snapshot"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--snapshots", type=int, default=50)
    p.add_argument("--volumes", type=int, default=4, help="volumes of the VM, root included")
    p.add_argument("--latency", type=float, default=0.0, help="seconds the simulator waits before each answer")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    args = p.parse_args()

    import vm_create as scale  # bench/vm_create.py: the same database reset and environment

    scale.fresh_database(args.database_url)
    sim_port = free_port()
    workdir = Path(f"/tmp/cp-bench-snapshot-{uuid.uuid4().hex[:8]}")
    workdir.mkdir()
    token_admin = uuid.uuid4().hex
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis,
               CELERY_TASK_DEFAULT_QUEUE=f"bench-snapshot-{uuid.uuid4().hex[:8]}",
               SIM_AGENT_URL=f"http://127.0.0.1:{sim_port}", SIM_AGENT_TOKEN=token_admin, LOG_LEVEL="WARNING",
               DJANGO_SETTINGS_MODULE="cloudportal.settings", CLOUDPORTAL_DATA_DIR=str(workdir / "data"))
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    agent_proc = subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "sim", "--port", str(sim_port),
                                   "--admin-token", token_admin, "--log-level", "WARNING",
                                   *(["--latency", str(args.latency)] if args.latency else [])], cwd=ROOT, env=env)
    try:
        import django

        django.setup()
        from django.conf import settings
        from rest_framework.test import APIClient

        from apps.core.flows import execute_job
        from apps.infra import agent
        from apps.storage.models import Volume, VolumeStatus, VolumeType
        from cloudportal.celery import app as celery_app

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        time.sleep(2)
        token, body = scale.prepare(argparse.Namespace(hosts=1), workdir)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        celery_app.conf.task_always_eager = True
        response = client.post("/api/v1/vm-instances/", {**body, "name": "snap"}, format="json")
        assert response.status_code == 202, response.content
        celery_app.conf.task_always_eager = False
        vm_uuid = response.json()["resource"]["uuid"]
        root = Volume.objects.get(vm_instance_uuid=vm_uuid)
        for index in range(args.volumes - 1):
            volume_uuid = uuid.uuid4()
            path = root.primary_storage.volume_path(volume_uuid, "Data")
            agent.call(root.host, "/v1/volume/create", {"path": path, "format": "qcow2", "size": 1 << 30})
            Volume.objects.create(uuid=volume_uuid, name=f"data-{index}", account=root.account, type=VolumeType.DATA,
                                  status=VolumeStatus.READY, size=1 << 30, install_path=path,
                                  primary_storage=root.primary_storage, host=root.host, vm_instance_uuid=vm_uuid)

        waited = []
        real_call = agent.call

        def timed_call(*a, **kw):
            started = time.perf_counter()
            try:
                return real_call(*a, **kw)
            finally:
                waited.append(time.perf_counter() - started)

        agent.call = timed_call
        api, flow, agent_time, overhead = [], [], [], []
        for index in range(args.snapshots):
            started = time.perf_counter()
            response = client.post(f"/api/v1/vm-instances/{vm_uuid}/snapshot/", {"name": f"s{index}"}, format="json")
            api.append(time.perf_counter() - started)
            assert response.status_code == 202, response.content
            waited.clear()
            started = time.perf_counter()
            job = execute_job(response.json()["job"]["uuid"])
            flow.append(time.perf_counter() - started)
            assert job.state == "succeeded", job.error
            assert len(job.result["snapshot_uuids"]) == args.volumes
            agent_time.append(sum(waited))
            overhead.append(flow[-1] - agent_time[-1])
            if os.environ.get("BENCH_SHOW_STEPS"):
                print([(s["name"], s.get("duration_ms")) for s in job.steps], flush=True)

        def ms(values):
            return f"p50 {1000 * statistics.median(values):.1f} ms, max {1000 * max(values):.1f} ms"

        print(f"{args.snapshots} VM snapshots of {args.volumes} volumes (simulator latency {args.latency:g} s): "
              f"API POST {ms(api)}; flow {ms(flow)}; agent {ms(agent_time)}; "
              f"portal overhead (flow - agent) {ms(overhead)}; with the POST {ms([a + o for a, o in zip(api, overhead)])}",
              flush=True)
    finally:
        agent_proc.terminate()
        agent_proc.wait(10)


if __name__ == "__main__":
    main()

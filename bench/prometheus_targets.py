#!/usr/bin/env python
"""The portal's cost of Prometheus service discovery (issue 17: the portal's share at 1,000
simulated hosts, service discovery among it, <= 10 % of one core).

Creates its own MariaDB database (default ``cloudportal_bench_targets``; the name must contain
"bench"), ``--hosts`` Connected simulated hosts in 10 clusters, and asks
``GET /api/v1/monitoring/prometheus-targets/`` ``--rounds`` times in process (Django test client,
an admin's API token: the whole middleware stack), as Prometheus's http_sd_configs does every
``refresh_interval``. Prints the server time and CPU of one answer and the share of a core at one
answer every ``--refresh`` seconds (Prometheus's default: 60).

    .venv/bin/python bench/prometheus_targets.py
    .venv/bin/python bench/prometheus_targets.py --zero-setup        # SQLite
"""
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import arg_parser, django_for_bench, speed_probe  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_targets"


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--zero-setup", action="store_true", help="SQLite in a temporary directory")
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--refresh", type=float, default=60.0, help="Prometheus's refresh_interval, seconds")
    return p.parse_args()


def main():
    args = parse_args()
    django_for_bench("targets", args.database_url, args.zero_setup)
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import ApiToken
    from apps.core.testing import make_account
    from apps.infra.models import Cluster, Host, HostStatus, Zone

    admin = make_account("bench-admin", admin=True)
    zone = Zone.objects.create(name="bench-zone")
    clusters = [Cluster.objects.create(name=f"bench-c{i}", zone=zone, hypervisor_type="Simulator") for i in range(10)]
    Host.objects.bulk_create([
        Host(name=f"bench-h{i}", cluster=clusters[i % 10], hypervisor_type="Simulator", status=HostStatus.CONNECTED,
             management_ip=f"10.{i // 250}.{i % 250}.1", address_key=f"bench-{i}", agent_secret=uuid.uuid4().hex,
             cpu_num=8, memory_size=16 << 30) for i in range(args.hosts)], batch_size=500)
    client = Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(admin)}")
    path = "/api/v1/monitoring/prometheus-targets/"
    groups = client.get(path).json()
    assert len(groups) == args.hosts, len(groups)

    probe = speed_probe()
    wall, cpu = [], []
    for _ in range(args.rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append(1000 * (time.perf_counter() - started))
        cpu.append(1000 * (time.process_time() - cpu_started))
        assert response.status_code == 200
    wall.sort()
    cpu_ms = statistics.median(cpu)
    print(f"database: {connection.vendor}; {args.hosts} Connected hosts; speed probe {probe:.0f} ms")
    print(f"one answer ({len(response.content) // 1024} KiB): wall p50 {statistics.median(wall):.1f} ms, "
          f"max {wall[-1]:.1f} ms; cpu median {cpu_ms:.1f} ms")
    print(f"share of one core at one answer every {args.refresh:g} s: {100 * cpu_ms / 1000 / args.refresh:.2f} %")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""The portal's cost of alarm evaluation on beat (issue 17: the portal's share at 10,000 simulated
VMs sampled every 10 s, alarm evaluation among it, ≤ 10 % of one core).

Creates its own MariaDB database (default ``cloudportal_bench_alarms``; the name must contain
"bench"), ``--vms`` VM rows in ``--accounts`` accounts and ``--rules`` metric rules: one admin rule
over every VM, the others one per account over its VMs. A store stand-in answers ``aggregate`` from
memory (the store's own cost is the store benchmark's), with every VM below its threshold except
``--firing`` of them. Then it times ``--rounds`` evaluations as beat runs them (the first fires the
alarms; the steady ones change nothing) and prints the CPU and wall time of one, and the share of a
core at one evaluation every ``--tick`` seconds.

    .venv/bin/python bench/alarm_rules.py                         # 10,000 VMs, 11 rules
    .venv/bin/python bench/alarm_rules.py --vms 1000 --rounds 5
    .venv/bin/python bench/alarm_rules.py --zero-setup            # SQLite
"""
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import arg_parser, django_for_bench, speed_probe  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_alarms"


class MemoryStore:
    def __init__(self, values):
        self.values = values

    def aggregate(self, kind, metric, uuids, window_seconds, how="avg"):
        values = self.values
        return {u: values[u] for u in uuids if u in values}


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--vms", type=int, default=10_000)
    p.add_argument("--accounts", type=int, default=10)
    p.add_argument("--rules", type=int, default=11)
    p.add_argument("--firing", type=int, default=50)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--tick", type=float, default=10.0)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--zero-setup", action="store_true", help="SQLite in a temporary directory; --database-url ignored")
    return p.parse_args()


def main():
    args = parse_args()
    django_for_bench("alarms", args.database_url, args.zero_setup)
    from apps.compute.models import VmInstance
    from apps.core.testing import make_account
    from apps.monitoring.metric_rules import evaluate_metric_rules
    from apps.monitoring.models import Alarm, AlarmRule

    admin = make_account("bench-admin", admin=True)
    accounts = [make_account(f"bench-tenant-{i}").account for i in range(args.accounts)]
    VmInstance.objects.bulk_create(
        [VmInstance(name=f"vm-{i}", account=accounts[i % len(accounts)], cpu_num=1, memory_size=1 << 29,
                    state="Running") for i in range(args.vms)], batch_size=1000)
    uuids = [str(u) for u in VmInstance.objects.values_list("uuid", flat=True)]
    store = MemoryStore({u: (95.0 if i < args.firing else 20.0) for i, u in enumerate(uuids)})
    AlarmRule.objects.create(name="all VMs", account=admin.account, kind="metric", resource_kind="vm", metric="cpu",
                             threshold=90)
    for i in range(args.rules - 1):
        AlarmRule.objects.create(name=f"rule-{i}", account=accounts[i % len(accounts)], kind="metric",
                                 resource_kind="vm", metric="cpu", threshold=90)

    probe = speed_probe()
    cpu, wall = [], []
    for _ in range(args.rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        evaluate_metric_rules(store)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    steady_cpu = statistics.median(cpu[1:]) if len(cpu) > 1 else cpu[0]
    print(f"database: {'SQLite' if args.zero_setup else 'MariaDB'}; {args.vms} VMs, {args.rules} rules, "
          f"{Alarm.objects.filter(state='Alarm').count()} alarms firing; speed probe {probe:.0f} ms")
    print(f"first evaluation (fires): cpu {cpu[0]:.0f} ms, wall {wall[0]:.0f} ms")
    print(f"steady evaluation: cpu median {steady_cpu:.0f} ms, wall median {statistics.median(wall[1:] or wall):.0f} ms")
    print(f"share of one core at one evaluation every {args.tick:g} s: {steady_cpu / (args.tick * 1000) * 100:.1f} %")


if __name__ == "__main__":
    main()

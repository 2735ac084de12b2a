#!/usr/bin/env python
"""The console's VM list page (/ui/vm-instances/) at 10,000 VMs: server time per page.

Fills its own database (MariaDB ``cloudportal_bench_console`` by default, created and migrated
here; ``--database-url sqlite:////tmp/x/bench.sqlite3`` for the zero-setup SQLite path) with a
zone, a cluster, 100 hosts, an L3 network and 10,000 VMs of five accounts, one NIC each
(``bulk_create`` in 1,000-row batches, kept between runs; ``--refill`` redoes it). Then asks for
the page in-process, as a logged-in browser would (Django test client with a session from
``force_login``: the whole middleware stack, the page calling the API view in-process through
``apps.core.ui.apicall``, the template rendered; no HTTP server), 50 VMs a page, with the search
box's ``q=``:

    /ui/vm-instances/?q=state=Running                    (the full page, first page and a deep one)
    /ui/vm-instances/?q=state=Running  + HX-Request      (the results alone, as htmx asks on a search)
    /ui/vm-instances/?q=vm-0042                          (a bare word: names containing it)

The time measured is the server's: from the request entering Django to the rendered response.
Each scenario: ``--warmup`` untimed requests, then ``--requests`` timed ones; p50/p90/p99, the SQL
time per request (execute_wrapper) and the rest (Python). Target p99 <= 50 ms (issue 16).
``--profile FILE`` writes a cProfile of the first scenario's timed requests.
It refuses a database whose name lacks "bench" unless ``--force``.

    .venv/bin/python bench/console_list.py                                   # MariaDB
    .venv/bin/python bench/console_list.py --database-url sqlite:////tmp/cb/bench.sqlite3
    .venv/bin/python bench/console_list.py --requests 50 --profile /tmp/list.prof
"""
import cProfile
import json
import math
import os
import platform
import random
import re
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import arg_parser, interpreter, speed_probe  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_console"
TARGET_P99_MS = 50.0
ACCOUNTS = ["bench-con-a", "bench-con-b", "bench-con-c", "bench-con-d", "bench-con-e"]
STATES = [("Running", 0.70), ("Stopped", 0.22), ("Paused", 0.03), ("Starting", 0.02), ("Destroyed", 0.03)]
PREFIX = "bench-con"   # names of what the fill makes (zone, cluster, hosts, networks)


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                   help=f"database to fill and query (default {DEFAULT_URL}; sqlite:////path/file.sqlite3 for SQLite)")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", ""),
                   help="Redis for the cache (count cache, sessions' cache) as in production; '' = in-process "
                        "(the zero-setup default)")
    p.add_argument("--vms", type=int, default=10_000)
    p.add_argument("--hosts", type=int, default=100)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--requests", type=int, default=300, help="timed requests per scenario (default 300)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--refill", action="store_true")
    p.add_argument("--only", default="", help="comma-separated scenario names to run (default: all)")
    p.add_argument("--profile", default="", help="write a cProfile of the first scenario run here")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--force", action="store_true", help="allow a database whose name lacks 'bench'")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    return p.parse_args()


def setup_django(url, redis_url):
    os.environ["DATABASE_URL"] = url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
        os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudportal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if url.startswith("mysql"):
        import dj_database_url
        import MySQLdb

        cfg = dj_database_url.parse(url)
        conn = MySQLdb.connect(host=cfg["HOST"] or "127.0.0.1", port=int(cfg["PORT"] or 3306),
                               user=cfg["USER"] or "root", passwd=cfg["PASSWORD"] or "")
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{cfg['NAME']}` CHARACTER SET utf8mb4 "
                              "COLLATE utf8mb4_bin")
        conn.close()
    elif url.startswith("sqlite"):
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("CLOUDPORTAL_DATA_DIR", str(Path(url.split(":///", 1)[1]).parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def weighted(rng, table):
    r, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if r < acc:
            return value
    return table[-1][0]


def fill(args):
    """The VMs and what they point at; returns (admin user, {account name: user})."""
    from django.db import connection

    from apps.accounts.models import User
    from apps.compute.models import InstanceOffering, VmInstance, VmNic
    from apps.core.testing import make_account
    from apps.infra.models import Cluster, Host, Zone
    from apps.network.models import L2Network, L3Network
    from apps.storage.models import Image

    admin = User.objects.filter(username=f"{PREFIX}-admin").first() or make_account(f"{PREFIX}-admin", admin=True)
    users = {name: User.objects.filter(username=name).first() or make_account(name) for name in ACCOUNTS}
    have = VmInstance.objects.filter(name__startswith="vm-").count()
    if have == args.vms and not args.refill:
        print(f"fill: {have} VMs already there (--refill to redo)")
        return admin, users
    VmNic.objects.all().delete()
    VmInstance.objects.all().delete()
    rng = random.Random(args.seed)
    zone = Zone.objects.filter(name=f"{PREFIX}-zone").first() or Zone.objects.create(name=f"{PREFIX}-zone")
    cluster = (Cluster.objects.filter(name=f"{PREFIX}-cluster").first()
               or Cluster.objects.create(name=f"{PREFIX}-cluster", zone=zone, hypervisor_type="Simulator"))
    hosts = list(Host.objects.filter(cluster=cluster))
    if len(hosts) < args.hosts:
        Host.objects.bulk_create([Host(name=f"{PREFIX}-host-{i:04d}", cluster=cluster, hypervisor_type="Simulator",
                                       management_ip=f"10.99.{i // 250}.{i % 250 + 1}", status="Connected")
                                  for i in range(len(hosts), args.hosts)])
        hosts = list(Host.objects.filter(cluster=cluster))
    l2 = (L2Network.objects.filter(name=f"{PREFIX}-l2").first()
          or L2Network.objects.create(name=f"{PREFIX}-l2", zone=zone, physical_interface="eth9"))
    l3 = L3Network.objects.filter(name=f"{PREFIX}-l3").first() or L3Network.objects.create(name=f"{PREFIX}-l3",
                                                                                         l2_network=l2)
    offering = (InstanceOffering.objects.filter(name=f"{PREFIX}-small").first()
                or InstanceOffering.objects.create(name=f"{PREFIX}-small", cpu_num=2, memory_size=2 << 30))
    image = Image.objects.filter(name=f"{PREFIX}-image").first() or Image.objects.create(
        name=f"{PREFIX}-image", url="http://example.invalid/bench.qcow2")
    end = datetime(2026, 12, 1, tzinfo=timezone.utc)
    step = timedelta(days=60) / args.vms
    created_field = VmInstance._meta.get_field("created_at")
    created_field.auto_now_add = False   # keep the spread of created_at (the list is newest first)
    began = time.perf_counter()
    try:
        for start in range(0, args.vms, args.batch):
            vms = []
            for i in range(start, min(start + args.batch, args.vms)):
                state = weighted(rng, STATES)
                host = rng.choice(hosts)
                created = end - timedelta(days=60) + step * i
                vms.append(VmInstance(
                    uuid=uuid.UUID(int=rng.getrandbits(128), version=4), name=f"vm-{i:05d}",
                    account_id=users[ACCOUNTS[i % len(ACCOUNTS)]].account_id, state=state,
                    zone=zone, cluster=cluster, host=None if state in ("Stopped", "Destroyed") else host,
                    last_host=host, instance_offering=offering, image=image, cpu_num=offering.cpu_num,
                    memory_size=offering.memory_size, created_at=created,
                    destroyed_at=created + timedelta(days=1) if state == "Destroyed" else None))
            VmInstance.objects.bulk_create(vms)
            # bulk_create gives MariaDB's rows no primary keys back: read them by uuid
            ids = dict(VmInstance.objects.filter(uuid__in=[vm.uuid for vm in vms]).values_list("uuid", "id"))
            VmNic.objects.bulk_create([
                VmNic(uuid=uuid.UUID(int=rng.getrandbits(128), version=4), vm_instance_id=ids[vm.uuid],
                      l3_network=l3, ip=f"10.{100 + i // 65000}.{(i // 250) % 256}.{i % 250 + 1}",
                      mac="fa:%02x:%02x:%02x:%02x:%02x" % tuple(i >> s & 255 for s in (32, 24, 16, 8, 0)),
                      netmask="255.0.0.0", gateway="10.0.0.1")
                for i, vm in enumerate(vms, start)])
    finally:
        created_field.auto_now_add = True
    seconds = time.perf_counter() - began
    if connection.vendor == "mysql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE TABLE compute_vminstance, compute_vmnic")
    print(f"fill: {args.vms} VMs (+ a NIC each) in {seconds:.1f} s ({args.vms / seconds:,.0f} VMs/s)")
    return admin, users


# --- measuring -----------------------------------------------------------------------------------


class SqlTimer:
    def __init__(self):
        self.seconds = 0.0
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
            self.statements += 1


def pct(sorted_values, q):
    return sorted_values[max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))]


def run_scenario(client, path, params, headers, args, expect_rows, profiler=None):
    from django.db import connection

    for _ in range(args.warmup):
        client.get(path, params, headers=headers)
    timer = SqlTimer()
    times, cpu = [], time.process_time()
    with connection.execute_wrapper(timer):
        if profiler:
            profiler.enable()
        for _ in range(args.requests):
            began = time.perf_counter()
            response = client.get(path, params, headers=headers)
            times.append((time.perf_counter() - began) * 1000)
        if profiler:
            profiler.disable()
    cpu = (time.process_time() - cpu) * 1000 / args.requests
    page = response.content.decode()
    if response.status_code != 200:
        raise SystemExit(f"{path} {params}: HTTP {response.status_code} {page[:500]}")
    rows = len(re.findall(r'<tr [^>]*data-uuid="', page))   # a row's <tr> carries its uuid
    if rows != expect_rows:
        raise SystemExit(f"{path} {params}: {rows} rows on the page, expected {expect_rows}")
    times.sort()
    n = args.requests
    sql_ms = timer.seconds * 1000 / n
    return {"p50_ms": round(pct(times, 0.50), 2), "p90_ms": round(pct(times, 0.90), 2),
            "p99_ms": round(pct(times, 0.99), 2), "max_ms": round(times[-1], 2), "mean_ms": round(sum(times) / n, 2),
            "cpu_ms": round(cpu, 2), "sql_ms": round(sql_ms, 2), "statements": round(timer.statements / n, 1),
            "python_ms": round(sum(times) / n - sql_ms, 2), "rows": rows, "bytes": len(response.content),
            "requests": n}


def machine():
    from django.db import connection

    info = {"python": interpreter(), "nproc": os.cpu_count(), "speed_probe_ms": round(speed_probe(), 1)}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                           if line.startswith("model name"))
        info["loadavg_at_start"] = open("/proc/loadavg").read().split()[:3]
    except (OSError, StopIteration):
        pass
    with connection.cursor() as cur:
        cur.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SELECT VERSION()")
        info["database"] = f"{connection.vendor} {cur.fetchone()[0]}"
    info["platform"] = platform.platform()
    return info


def main():
    args = parse_args()
    name = args.database_url.rsplit("/", 1)[-1]
    if "bench" not in name and not args.force:
        raise SystemExit(f"refusing to fill {args.database_url}: its name lacks 'bench' (use --force)")
    setup_django(args.database_url, args.redis_url)
    from django.core.cache import cache
    from django.test import Client

    from apps.compute.models import VmInstance

    info = machine()
    print(f"machine: {info.get('cpu')} x{info['nproc']}, {info['database']}, {info['python']}, "
          f"load {' '.join(info.get('loadavg_at_start', []))}, speed probe {info['speed_probe_ms']} ms")
    admin, users = fill(args)
    cache.clear()
    # as the portal's web process does once started (cloudportal/asgi.py): the startup heap frozen,
    # so the collector's full passes do not walk it (without this, each was a 65-100 ms stall of
    # one request here: most of the p99)
    import cloudportal.asgi  # noqa: F401
    running = VmInstance.objects.filter(state="Running").count()
    tenant = users[ACCOUNTS[0]]
    tenant_running = VmInstance.objects.filter(state="Running", account_id=tenant.account_id).count()
    word = "vm-0042"
    named = VmInstance.objects.filter(name__contains=word).count()
    path = "/ui/vm-instances/"
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    # name, who, params, headers, rows expected
    scenarios = [
        ("page q=state=Running", "admin", {"q": "state=Running"}, {}, min(50, running)),
        ("results q=state=Running (htmx)", "admin", {"q": "state=Running"}, htmx, min(50, running)),
        ("page q=state=Running offset 5000", "admin", {"q": "state=Running", "offset": "5000"}, {},
         max(0, min(50, running - 5000))),
        ("page q=vm-0042 (name contains)", "admin", {"q": word}, {}, min(50, named)),
        ("page q=state=Running, tenant", "tenant", {"q": "state=Running"}, {}, min(50, tenant_running)),
    ]
    if args.only:
        wanted = {s.strip() for s in args.only.split(",")}
        scenarios = [s for s in scenarios if s[0] in wanted]
    clients = {}
    for who, user in (("admin", admin), ("tenant", tenant)):
        clients[who] = Client()
        clients[who].force_login(user)
    print(f"table: {VmInstance.objects.count()} VMs, {running} Running ({tenant_running} the tenant's), "
          f"{named} named *{word}*; {args.requests} requests a scenario after {args.warmup} warm-up")
    results = {"machine": info, "vms": args.vms, "path": path, "target_p99_ms": TARGET_P99_MS,
               "requests": args.requests, "runs": []}
    profiler = cProfile.Profile() if args.profile else None
    for label, who, params, headers, expect in scenarios:
        r = run_scenario(clients[who], path, params, headers, args, expect, profiler)
        if profiler:
            profiler.dump_stats(args.profile)
            print(f"profile: {args.profile}")
            profiler = None
        verdict = "ok" if r["p99_ms"] <= TARGET_P99_MS else f">{TARGET_P99_MS:g}"
        print(f"{label:<36} p50 {r['p50_ms']:6.1f}  p90 {r['p90_ms']:6.1f}  p99 {r['p99_ms']:6.1f} ms {verdict:<4} "
              f"[cpu {r['cpu_ms']} ms, sql {r['sql_ms']} ms in {r['statements']} statements, "
              f"python {r['python_ms']} ms, {r['bytes'] // 1024} KiB]")
        results["runs"].append({"scenario": label, "as": who, "params": params, "htmx": bool(headers), **r})
    results["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vendor = "sqlite" if args.database_url.startswith("sqlite") else "mariadb"
    file = out / f"console_list-{vendor}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    file.write_text(json.dumps(results, indent=2, default=str))
    print(f"results: {file}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""List-endpoint latency with the query DSL at 100,000 rows (MariaDB).

Fills ``core_job`` of its own database (default ``cloudportal_bench``, created and
migrated here) with 100,000 jobs spread over accounts, states, actions and 90 days
(``bulk_create`` in 1,000-row batches), then calls the real API in-process (Django
test client, token auth, the whole middleware/DRF stack, no HTTP server):

    /api/v1/jobs/?q=state=succeeded&q=action=create-vm&q=account.name=bench-big&limit=50

500 times at ``offset=0`` and 500 times at ``offset=50000``, each with and without
the count (``count=false``), and prints p50/p99 per scenario with where the time
went (count query, page-key query, row query, token check, the rest = Python).
With ``--index both`` (the default) it runs every scenario twice: as the
migrations leave the table, then with a prototype composite index created by raw
SQL (see ``PROPOSED_INDEX``), dropped again at the end unless ``--keep-index``.
It refuses a database whose name lacks "bench" (it deletes and bulk-inserts jobs)
unless ``--force``.

Results: printed, and written as JSON under ``bench/results/``.

    .venv/bin/python bench/query_list.py                 # full run, ~3-4 minutes
    .venv/bin/python bench/query_list.py --requests 50    # quick look
"""
import json
import math
import os
import platform
import random
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import arg_parser  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench"
TARGETS_MS = {0: 30.0, 50000: 60.0}  # p99 targets by offset (docs/benchmarks.md)

# The spread of the fill: one large tenant (most of the history), 19 small ones.
ACCOUNTS = [("bench-big", 0.80)] + [(f"bench-t{i:02d}", 0.20 / 19) for i in range(19)]
STATES = [("succeeded", 0.90), ("failed", 0.06), ("cancelled", 0.02), ("running", 0.01), ("pending", 0.01)]
ACTIONS = [("create-vm", 0.75), ("start-vm", 0.08), ("stop-vm", 0.08), ("delete-vm", 0.05), ("migrate-vm", 0.04)]
FLOW = "bench-fill"
PROPOSED_INDEX = ("bench_job_acct_state_action_created", ["account_id", "state", "action", "created_at", "id"])


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", os.environ.get("DATABASE_URL", DEFAULT_URL)),
                   help=f"database to fill and query (env BENCH_DATABASE_URL or DATABASE_URL; default {DEFAULT_URL}); "
                        "the database is created if missing")
    p.add_argument("--rows", type=int, default=100_000, help="jobs to fill (default 100000)")
    p.add_argument("--batch", type=int, default=1000, help="bulk_create batch size (default 1000)")
    p.add_argument("--requests", type=int, default=500, help="timed requests per scenario (default 500)")
    p.add_argument("--warmup", type=int, default=20, help="untimed requests before each scenario (default 20)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--deep-offset", type=int, default=50_000)
    p.add_argument("--midpoint", action="store_true",
                   help="also measure the page at the middle of the result (the worst case of the reverse scan)")
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                   help="cache for the count cache, as in production (default redis://127.0.0.1:6379/0; '' = in-process)")
    p.add_argument("--refill", action="store_true", help="delete and refill the jobs even if the table is full")
    p.add_argument("--index", choices=["none", "proposed", "both"], default="both",
                   help="run without the prototype index, with it, or both (default)")
    p.add_argument("--keep-index", action="store_true", help="leave the prototype index in the bench database")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--force", action="store_true", help="allow a database whose name does not contain 'bench'")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"), help="directory for the JSON results")
    return p.parse_args()


def setup_django(url, redis_url):
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = redis_url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudportal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if url.startswith("mysql"):
        import dj_database_url
        import MySQLdb

        cfg = dj_database_url.parse(url)
        conn = MySQLdb.connect(host=cfg["HOST"] or "127.0.0.1", port=int(cfg["PORT"] or 3306), user=cfg["USER"] or "root",
                               passwd=cfg["PASSWORD"] or "")
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{cfg['NAME']}` CHARACTER SET utf8mb4")
        conn.close()
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
    from django.db import connection

    from apps.accounts.models import User
    from apps.core.models import Job
    from apps.core.testing import make_account

    admin = User.objects.filter(username="bench-admin").first() or make_account("bench-admin", admin=True)
    accounts = {}
    for name, _ in ACCOUNTS:
        user = User.objects.filter(username=name).first() or make_account(name)
        accounts[name] = user
    have = Job.objects.filter(flow=FLOW).count()
    if have == args.rows and not args.refill:
        print(f"fill: {have} jobs already there (--refill to redo)")
        return admin, accounts, None
    Job.objects.filter(flow=FLOW).delete()
    rng = random.Random(args.seed)
    end = datetime(2026, 1, 1, tzinfo=timezone.utc)
    start = end - timedelta(days=90)
    step = (end - start) / args.rows
    created_field = Job._meta.get_field("created_at")
    created_field.auto_now_add = False  # keep our spread of created_at (chronological, like real history)
    began = time.perf_counter()
    try:
        batch = []
        for i in range(args.rows):
            created = start + step * i + timedelta(microseconds=rng.randrange(0, 1000))
            state = weighted(rng, STATES)
            owner = accounts[weighted(rng, ACCOUNTS)]
            action = weighted(rng, ACTIONS)
            finished = state in ("succeeded", "failed", "cancelled")
            started = created + timedelta(milliseconds=rng.randrange(5, 500))
            ended = started + timedelta(seconds=rng.uniform(0.5, 120)) if finished else None
            steps = [{"name": n, "state": "succeeded" if finished else "pending", "attempts": 1,
                      "started_at": started.isoformat(), "finished_at": ended.isoformat() if ended else None,
                      "duration_ms": round(rng.uniform(1, 4000), 3)}
                     for n in ("Allocate", "Prepare", "Apply")]
            batch.append(Job(
                uuid=uuid.UUID(int=rng.getrandbits(128), version=4), flow=FLOW, action=action, state=state,
                progress=100 if state == "succeeded" else rng.choice([0, 33, 66]), steps=steps,
                args={"name": f"vm-{i}", "cpu": rng.choice([1, 2, 4]), "memory_mb": rng.choice([512, 1024, 4096])},
                context={}, resource_type="VmInstance", resource_uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                result={"ok": True} if state == "succeeded" else None,
                error={"code": "HOST_DOWN", "message": "the host stopped answering", "details": {}}
                if state == "failed" else None,
                request_id=f"{rng.getrandbits(64):016x}", account_id=owner.account_id, user_id=owner.pk,
                created_at=created, started_at=None if state == "pending" else started, finished_at=ended,
            ))
            if len(batch) == args.batch:
                Job.objects.bulk_create(batch)
                batch = []
        if batch:
            Job.objects.bulk_create(batch)
    finally:
        created_field.auto_now_add = True
    seconds = time.perf_counter() - began
    if connection.vendor == "mysql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE TABLE core_job")
    print(f"fill: {args.rows} jobs in {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s, batches of {args.batch})")
    return admin, accounts, round(seconds, 2)


# --- measuring -----------------------------------------------------------------------------------


class SqlTimer:
    """Times every SQL statement of a request by kind (execute_wrapper)."""

    def __init__(self):
        self.totals = defaultdict(float)
        self.counts = defaultdict(int)
        self.samples = {}

    @staticmethod
    def kind(sql):
        s = sql.lstrip().upper()
        if "ACCOUNTS_APITOKEN" in s:
            return "token"
        if s.startswith("SELECT COUNT("):
            return "count"
        if s.startswith(("SELECT `CORE_JOB`.`ID` AS `PK` FROM", 'SELECT "CORE_JOB"."ID" AS "PK" FROM')):
            return "page_keys"
        if "CORE_JOB" in s and s.startswith("SELECT"):
            return "rows"
        return "other"

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = self.kind(sql)
            self.totals[kind] += time.perf_counter() - began
            self.counts[kind] += 1
            self.samples[kind] = (sql, params)


def pct(sorted_values, q):
    return sorted_values[max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))]


def run_scenario(client, url, params, n, warmup, expect_rows):
    from django.db import connection

    for _ in range(warmup):
        client.get(url, params)
    timer = SqlTimer()
    times = []
    body = None
    with connection.execute_wrapper(timer):
        for _ in range(n):
            began = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} {params}: HTTP {response.status_code} {response.content[:500]!r}")
    body = response.json()
    if len(body["results"]) != expect_rows:
        raise SystemExit(f"{params}: expected {expect_rows} rows, got {len(body['results'])}")
    times.sort()
    sql_ms = {k: round(v * 1000 / n, 2) for k, v in sorted(timer.totals.items())}
    return {
        "p50_ms": round(pct(times, 0.50), 2), "p90_ms": round(pct(times, 0.90), 2),
        "p99_ms": round(pct(times, 0.99), 2), "max_ms": round(times[-1], 2),
        "mean_ms": round(sum(times) / n, 2), "requests": n,
        "sql_ms_per_request": sql_ms, "python_ms_per_request": round(sum(times) / n - sum(sql_ms.values()), 2),
        "count": body["count"], "rows": len(body["results"]),
    }


def explain(sql_params):
    from django.db import connection

    sql, params = sql_params
    with connection.cursor() as cur:
        cur.execute("EXPLAIN " + sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]


def plans(client, url, params):
    """EXPLAIN of the count and page-key statements one real request runs."""
    from django.db import connection

    timer = SqlTimer()
    with connection.execute_wrapper(timer):
        client.get(url, params)
    return {kind: {"sql": timer.samples[kind][0], "explain": explain(timer.samples[kind])}
            for kind in ("count", "page_keys", "rows") if kind in timer.samples}


def index_exists(name):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() "
                    "AND table_name = 'core_job' AND index_name = %s", [name])
        return cur.fetchone()[0] > 0


def set_index(present):
    from django.db import connection

    name, cols = PROPOSED_INDEX
    with connection.cursor() as cur:
        if present and not index_exists(name):
            began = time.perf_counter()
            cur.execute(f"CREATE INDEX {name} ON core_job ({', '.join(cols)})")
            cur.execute("ANALYZE TABLE core_job")
            print(f"index: created {name} ({', '.join(cols)}) in {time.perf_counter() - began:.1f} s")
        elif not present and index_exists(name):
            cur.execute(f"DROP INDEX {name} ON core_job")
            print(f"index: dropped {name}")


def machine():
    info = {"python": platform.python_version(), "nproc": os.cpu_count()}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        info["mem_total"] = next(line.split(":", 1)[1].strip() for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        info["loadavg_at_start"] = open("/proc/loadavg").read().split()[:3]
    except (OSError, StopIteration):
        pass
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT VERSION()")
        info["database"] = f"{connection.vendor} {cur.fetchone()[0]}"
    return info


def main():
    args = parse_args()
    if "bench" not in args.database_url.rsplit("/", 1)[-1] and not args.force:
        raise SystemExit(f"refusing to fill {args.database_url}: its name lacks 'bench' (use --force)")
    setup_django(args.database_url, args.redis_url)
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import ApiToken
    from apps.core.models import Job

    if connection.vendor != "mysql" and args.index != "none":
        print("note: not MariaDB/MySQL; running without the prototype index")
        args.index = "none"
    info = machine()
    print(f"machine: {info.get('cpu')} x{info['nproc']}, {info.get('mem_total')}, {info['database']}, "
          f"load {' '.join(info.get('loadavg_at_start', []))}")
    admin, accounts, fill_seconds = fill(args)
    total = Job.objects.filter(flow=FLOW).count()
    conditions = ["state=succeeded", "action=create-vm", "account.name=bench-big"]
    url = "/api/v1/jobs/"
    admin_client = Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(admin)}")
    tenant_client = Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(accounts['bench-big'])}")
    matching = Job.objects.filter(state="succeeded", action="create-vm", account__name="bench-big").count()
    print(f"table: {total} jobs; the query matches {matching} "
          f"({', '.join(conditions)})")
    if matching < args.deep_offset + args.limit:
        print(f"warning: fewer than {args.deep_offset + args.limit} matching rows: the deep page will be short")

    midpoint = matching // 2
    offsets = [0, args.deep_offset] + ([midpoint] if args.midpoint else [])
    # (label, prototype index?, count cache?, scenarios) -- scenarios: (offset, count, who)
    every = [(o, c, "admin") for o in offsets for c in (True, False)]
    variants = []
    if args.index in ("none", "both"):
        variants.append(("migrations' indexes, count cache off", False, False, every))
    if args.index in ("proposed", "both"):
        variants.append(("proposed index, count cache off", True, False, every))
    cached = [(o, True, "admin") for o in offsets] + [(o, c, "tenant") for o in (0, args.deep_offset)
                                                       for c in (True, False)]
    variants.append(("proposed index, count cache on (the default: 10 s for counts >= 10,000)",
                     args.index != "none", True, cached))
    results = {"machine": info, "rows": total, "matching": matching, "fill_seconds": fill_seconds,
               "url": url, "conditions": conditions, "tenant_conditions": conditions[:2], "limit": args.limit,
               "requests_per_scenario": args.requests, "targets_p99_ms": TARGETS_MS,
               "proposed_index": {"name": PROPOSED_INDEX[0], "columns": PROPOSED_INDEX[1]}, "runs": []}
    clients = {"admin": (admin_client, conditions), "tenant": (tenant_client, conditions[:2])}
    try:
        for label, with_index, count_cache, scenarios in variants:
            if connection.vendor == "mysql":
                set_index(with_index)
            settings.QUERY_COUNT_CACHE_SECONDS = 10 if count_cache else 0
            cache.clear()
            print(f"\n== {label}")
            if connection.vendor == "mysql":
                for offset in offsets:
                    results["runs"].append({"variant": label, "offset": offset, "plans": plans(
                        admin_client, url, {"q": conditions, "limit": args.limit, "offset": offset})})
            for offset, count, who in scenarios:
                client, q = clients[who]
                params = {"q": q, "limit": args.limit, "offset": offset, "count": "true" if count else "false"}
                expect = max(0, min(args.limit, matching - offset))
                r = run_scenario(client, url, params, args.requests, args.warmup, expect)
                target = TARGETS_MS.get(offset)
                verdict = "" if target is None else ("ok  " if r["p99_ms"] <= target else f">{target:g}")
                sql = " ".join(f"{k} {v}" for k, v in r["sql_ms_per_request"].items())
                print(f"offset={offset:<6} count={str(count).lower():<5} {who:<6} p50 {r['p50_ms']:6.1f}  "
                      f"p99 {r['p99_ms']:6.1f} ms {verdict:<4} [sql ms/req: {sql}; python {r['python_ms_per_request']}]")
                results["runs"].append({"variant": label, "index": with_index, "count_cache": count_cache,
                                        "offset": offset, "count": count, "as": who, "q": q, **r})
    finally:
        if connection.vendor == "mysql" and not args.keep_index:
            set_index(False)
    results["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"query_list-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()

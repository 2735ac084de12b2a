#!/usr/bin/env python
"""Flow engine throughput on real Celery workers, Redis and MariaDB.

Starts worker processes (``celery -A cloudportal worker``, default 2 x ``--pool=solo``)
on a private queue, importing ``bench/noop_flow.py`` (``-I bench.noop_flow``), then:

1. ceiling: 2,000 no-op Celery tasks (``bench.noop``: one Redis RPUSH) through the
   same broker and workers: tasks/s and enqueue-to-done latency;
2. jobs: 2,000 ``start_job(bench-noop)`` from this process (outside a transaction,
   so each dispatches on commit at once), a 3-step no-op flow: jobs/s from the
   first ``created_at`` to the last ``finished_at`` and p50/p99 of
   ``finished_at - created_at`` (split into queue wait and run time).

The ratio of the two is the framework's overhead. ``--profile`` samples both
workers with py-spy (``--py-spy PATH``) during the job phase and prints where
their time went. Everything runs in its own database (default
``cloudportal_bench_flow``, created and migrated here) and its own Redis queue.
Results are printed and written as JSON under ``bench/results/``.

    .venv/bin/python bench/flow_throughput.py
    .venv/bin/python bench/flow_throughput.py --pool prefork --workers 1 --concurrency 2
"""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import arg_parser  # noqa: E402  (bench/benchlib.py)

DEFAULT_DB = "mysql://root@127.0.0.1:3306/cloudportal_bench_flow"
TARGET_JOBS_PER_S = 100


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
                   help=f"database (env BENCH_DATABASE_URL; default {DEFAULT_DB}); created if missing")
    p.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/2"),
                   help="Celery broker (default redis://127.0.0.1:6379/2)")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                   help="REDIS_URL: channel layer for job events and cache, as in production "
                        "(default redis://127.0.0.1:6379/0)")
    p.add_argument("--jobs", type=int, default=2000)
    p.add_argument("--tasks", type=int, default=2000, help="no-op tasks for the ceiling (0 skips it)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--pool", choices=["solo", "prefork", "threads"], default="solo")
    p.add_argument("--concurrency", type=int, default=1, help="per worker (default 1; solo is always 1)")
    p.add_argument("--loglevel", default="INFO", help="workers' -l (default INFO, as `make run`)")
    p.add_argument("--timeout", type=float, default=600, help="give up after this many seconds per phase")
    p.add_argument("--profile", action="store_true", help="sample the workers with py-spy during the job phase")
    p.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy",
                   help="py-spy binary (pip install py-spy)")
    p.add_argument("--prototype", default="",
                   help="comma list of engine changes to prototype on the workers (bench/noop_flow.py): "
                        "persistent_db, fewer_events")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    return p.parse_args()


def setup(args, queue):
    os.environ.update({
        "DATABASE_URL": args.database_url, "CELERY_BROKER_URL": args.broker_url, "REDIS_URL": args.redis_url,
        "BENCH_REDIS_URL": args.redis_url, "CELERY_TASK_DEFAULT_QUEUE": queue, "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "cloudportal.settings", "BENCH_PROTOTYPE": args.prototype,
    })
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.database_url.startswith("mysql"):
        import dj_database_url
        import MySQLdb

        cfg = dj_database_url.parse(args.database_url)
        conn = MySQLdb.connect(host=cfg["HOST"] or "127.0.0.1", port=int(cfg["PORT"] or 3306), user=cfg["USER"] or "root",
                               passwd=cfg["PASSWORD"] or "")
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{cfg['NAME']}` CHARACTER SET utf8mb4")
        conn.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Workers:
    def __init__(self, args, queue):
        self.args, self.queue = args, queue
        self.logdir = Path(tempfile.mkdtemp(prefix="cp-bench-workers-"))
        self.procs = []

    def start(self):
        for index in range(self.args.workers):
            log = self.logdir / f"worker{index}.log"
            argv = [sys.executable, "-m", "celery", "-A", "cloudportal", "worker", f"--pool={self.args.pool}",
                    "-l", self.args.loglevel, "-Q", self.queue, "-n", f"{self.queue}-{index}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat", "-I", "bench.noop_flow",
                    "-f", str(log)]
            if self.args.pool != "solo":
                argv += ["-c", str(self.args.concurrency)]
            self.procs.append(subprocess.Popen(argv, cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                                               start_new_session=True, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.STDOUT))
        deadline = time.time() + 90
        for index, proc in enumerate(self.procs):
            log = self.logdir / f"worker{index}.log"
            while "ready." not in (log.read_text() if log.exists() else ""):
                if proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise SystemExit(f"worker {index} did not start:\n{log.read_text() if log.exists() else ''}")
                time.sleep(0.1)
        return self

    def main_pids(self):
        return [p.pid for p in self.procs]

    def pids(self):
        """The processes that run tasks: the worker itself (solo/threads) or its pool children."""
        if self.args.pool != "prefork":
            return [p.pid for p in self.procs]
        pids = []
        for p in self.procs:
            out = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
            pids += [int(x) for x in out]
        return pids

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def cpu_seconds(pids):
    """utime + stime of these processes and their children (prefork pool processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    seen = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        todo += [int(c) for c in children]
    return total


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


def pct(values, q):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))]


def summary_ms(values):
    return {"p50_ms": round(pct(values, 0.50) * 1000, 1), "p90_ms": round(pct(values, 0.90) * 1000, 1),
            "p99_ms": round(pct(values, 0.99) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}


def ceiling(args, queue, redis_client, workers):
    from bench.noop_flow import DONE_KEY, noop

    run_id = uuid.uuid4().hex[:12]
    key = DONE_KEY + run_id
    enqueued = []
    cpu0, own0 = cpu_seconds(workers.main_pids()), own_cpu_seconds()
    began = time.time()
    for i in range(args.tasks):
        enqueued.append(time.time())
        noop.apply_async(args=[run_id, i], queue=queue)
    produced = time.time() - began
    deadline = time.time() + args.timeout
    while redis_client.llen(key) < args.tasks:
        if time.time() > deadline:
            raise SystemExit(f"ceiling: only {redis_client.llen(key)}/{args.tasks} tasks ran in {args.timeout} s")
        time.sleep(0.05)
    done = {}
    for entry in redis_client.lrange(key, 0, -1):
        index, when = entry.decode().split()
        done[int(index)] = float(when)
    redis_client.delete(key)
    worker_cpu, producer_cpu = cpu_seconds(workers.main_pids()) - cpu0, own_cpu_seconds() - own0
    elapsed = max(done.values()) - enqueued[0]
    latencies = [done[i] - enqueued[i] for i in range(args.tasks)]
    return {"tasks": args.tasks, "tasks_per_s": round(args.tasks / elapsed, 1), "seconds": round(elapsed, 2),
            "enqueue_per_s": round(args.tasks / produced, 1), **summary_ms(latencies),
            "worker_cpu_ms_per_task": round(worker_cpu * 1000 / args.tasks, 2),
            "producer_cpu_ms_per_task": round(producer_cpu * 1000 / args.tasks, 2)}


def run_jobs(args, n, request_id):
    from django.utils import timezone  # noqa: F401

    from apps.core import context as actx
    from apps.core.flows import start_job
    from apps.core.models import FINISHED_STATES, Job
    from bench.noop_flow import NOOP_FLOW

    token = actx.request_id.set(request_id)
    try:
        began = time.time()
        for i in range(n):
            start_job(NOOP_FLOW, args={"i": i})
        produced = time.time() - began
    finally:
        actx.request_id.reset(token)
    deadline = time.time() + args.timeout
    jobs = Job.objects.filter(request_id=request_id)
    while jobs.filter(state__in=FINISHED_STATES).count() < n:
        if time.time() > deadline:
            raise SystemExit(f"jobs: only {jobs.filter(state__in=FINISHED_STATES).count()}/{n} finished "
                             f"in {args.timeout} s")
        time.sleep(0.1)
    rows = list(jobs.values_list("state", "created_at", "started_at", "finished_at"))
    return rows, produced


def job_figures(rows, produced):
    states = Counter(r[0] for r in rows)
    first = min(r[1] for r in rows)
    last = max(r[3] for r in rows)
    elapsed = (last - first).total_seconds()
    total = [(r[3] - r[1]).total_seconds() for r in rows]
    wait = [(r[2] - r[1]).total_seconds() for r in rows]
    run = [(r[3] - r[2]).total_seconds() for r in rows]
    return {"jobs": len(rows), "states": dict(states), "jobs_per_s": round(len(rows) / elapsed, 1),
            "seconds": round(elapsed, 2), "created_per_s": round(len(rows) / produced, 1),
            "created_to_finished": summary_ms(total), "queue_wait": summary_ms(wait), "run": summary_ms(run)}


def profile_report(files, top=30):
    """Aggregate py-spy raw (collapsed) stacks: inclusive and self share per function."""
    inclusive, own, total = Counter(), Counter(), 0
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            count = int(count)
            total += count
            frames = stack.split(";")
            for frame in set(frames):
                inclusive[frame] += count
            own[frames[-1]] += count
    if not total:
        return {}
    def short(frame):
        return frame.replace(str(ROOT) + "/", "").replace(sys.prefix + "/lib/python3.11/site-packages/", "")
    return {"samples": total,
            "inclusive": [(short(f), round(100 * c / total, 1)) for f, c in inclusive.most_common(top)],
            "self": [(short(f), round(100 * c / total, 1)) for f, c in own.most_common(top)]}


def machine():
    info = {"nproc": os.cpu_count()}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        info["loadavg_at_start"] = open("/proc/loadavg").read().split()[:3]
    except (OSError, StopIteration):
        pass
    return info


def main():
    args = parse_args()
    if "bench" not in args.database_url.rsplit("/", 1)[-1]:
        raise SystemExit(f"refusing to use {args.database_url}: its name lacks 'bench'")
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    setup(args, queue)
    import redis

    from apps.core.models import Job
    from bench.noop_flow import FLOW_NAME

    info = machine()
    Job.objects.filter(flow=FLOW_NAME).delete()
    redis_client = redis.Redis.from_url(args.redis_url)
    broker = redis.Redis.from_url(args.broker_url)
    label = f"{args.workers} x --pool={args.pool}" + ("" if args.pool == "solo" else f" -c {args.concurrency}")
    if args.prototype:
        label += f" [prototype: {args.prototype}]"
    print(f"machine: {info.get('cpu')} x{info['nproc']}, load {' '.join(info.get('loadavg_at_start', []))}; "
          f"workers: {label}; queue {queue}")
    workers = Workers(args, queue).start()
    results = {"machine": info, "workers": label, "pool": args.pool, "worker_processes": args.workers,
               "prototype": args.prototype,
               "concurrency": args.concurrency, "target_jobs_per_s": TARGET_JOBS_PER_S}
    spies = []
    try:
        if args.tasks:
            results["ceiling"] = c = ceiling(args, queue, redis_client, workers)
            print(f"ceiling  {c['tasks']} no-op tasks: {c['tasks_per_s']:7.1f} tasks/s   "
                  f"enqueue->done p50 {c['p50_ms']} ms p99 {c['p99_ms']} ms   (enqueued {c['enqueue_per_s']}/s)")
            print(f"         CPU per task: workers {c['worker_cpu_ms_per_task']} ms, producer "
                  f"{c['producer_cpu_ms_per_task']} ms")
        run_jobs(args, 20, f"bench-warmup-{uuid.uuid4().hex[:8]}")  # connections, imports, first queries
        profiles = []
        if args.profile:
            if not Path(args.py_spy).exists():
                raise SystemExit(f"--profile needs py-spy (not found at {args.py_spy})")
            for pid in workers.pids():
                out = workers.logdir / f"profile-{pid}.txt"
                profiles.append(out)
                spies.append(subprocess.Popen([args.py_spy, "record", "--pid", str(pid), "--format", "raw",
                                               "--rate", "250", "--nonblocking", "--output", str(out)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1.0)
        cpu0, own0 = cpu_seconds(workers.main_pids()), own_cpu_seconds()
        rows, produced = run_jobs(args, args.jobs, f"bench-{uuid.uuid4().hex[:12]}")
        worker_cpu, producer_cpu = cpu_seconds(workers.main_pids()) - cpu0, own_cpu_seconds() - own0
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(timeout=30)
        results["jobs"] = j = job_figures(rows, produced)
        j["worker_cpu_ms_per_job"] = round(worker_cpu * 1000 / args.jobs, 2)
        j["producer_cpu_ms_per_job"] = round(producer_cpu * 1000 / args.jobs, 2)
        verdict = "ok" if j["jobs_per_s"] >= TARGET_JOBS_PER_S else f"below the {TARGET_JOBS_PER_S} jobs/s target"
        print(f"jobs     {j['jobs']} x 3-step no-op flow: {j['jobs_per_s']:7.1f} jobs/s ({verdict})   "
              f"created->finished p50 {j['created_to_finished']['p50_ms']} ms p99 {j['created_to_finished']['p99_ms']} ms"
              f"   states {j['states']}")
        print(f"         queue wait p50 {j['queue_wait']['p50_ms']} ms p99 {j['queue_wait']['p99_ms']} ms; "
              f"run p50 {j['run']['p50_ms']} ms p99 {j['run']['p99_ms']} ms; created {j['created_per_s']}/s")
        print(f"         CPU per job: workers {j['worker_cpu_ms_per_job']} ms, producer (start_job) "
              f"{j['producer_cpu_ms_per_job']} ms")
        if "ceiling" in results:
            results["overhead_ratio"] = round(results["ceiling"]["tasks_per_s"] / j["jobs_per_s"], 2)
            print(f"ratio    ceiling / jobs = {results['overhead_ratio']}x")
        if profiles:
            results["profile"] = prof = profile_report(profiles)
            print(f"\nworkers' time by function ({prof.get('samples', 0)} samples), inclusive %:")
            for frame, share in prof.get("inclusive", [])[:30]:
                print(f"  {share:5.1f}  {frame}")
            print("self %:")
            for frame, share in prof.get("self", [])[:15]:
                print(f"  {share:5.1f}  {frame}")
    finally:
        for spy in spies:
            if spy.poll() is None:
                spy.kill()
        workers.stop()
        broker.delete(queue)
    results["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"flow_throughput-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Metrics (issue 17): a 24 h, 1-minute-step chart of one VM from each store (p50/p99, target
"≤ 100 ms p99 from each backend"), and the built-in collector's cost per sample for N simulated VMs.

Chart: the built-in store gets a day of rows for --chart-vms VMs as the collector leaves them (10 s
for the last hour, 1 min for the day, 1 h before), in its own database; Prometheus gets the same
VMs' day at 10 s, backfilled with promtool into a temporary TSDB, and is started by the script on a
free port. Each store answers ``series("vm", <metric>, [one VM], now - 24 h, now, 60)`` --rounds
times (a gauge, cpu, and a rate, disk_read_bps); the API's /api/v1/metrics/series/ is timed too
(in process, the built-in store).

Collector: --collector-vms (a list) VMs behind 50-VM simulated hosts served by exposition servers in
this process (contract-shaped: per VM 2 gauges, 4 disk and 4 network counters; per host 4 gauges
and 8 counters), collected --samples times: wall and CPU ms per sample, and the part spent in the
database (rates, upserts, roll-ups, pruning).

    .venv/bin/python bench/metrics_query.py                        # MariaDB, 200 rounds, 100 and 1,000 VMs
    .venv/bin/python bench/metrics_query.py --zero-setup           # SQLite in a temporary directory
    .venv/bin/python bench/metrics_query.py --collector-vms 100,1000,5000 --samples 5
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import arg_parser, free_port, interpreter, speed_probe  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_metrics"
DAY = 86400


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--zero-setup", action="store_true", help="SQLite in a temporary directory, no Redis")
    p.add_argument("--chart-vms", type=int, default=100, help="VMs with a day of data (the chart reads one)")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--collector-vms", default="100,1000")
    p.add_argument("--samples", type=int, default=5, help="collector samples per VM count")
    p.add_argument("--no-prometheus", action="store_true")
    return p.parse_args()


def percentiles(times):
    times = sorted(times)
    return {"p50_ms": round(1000 * statistics.median(times), 2),
            "p99_ms": round(1000 * times[min(len(times) - 1, int(len(times) * 0.99))], 2)}


def timed(call, rounds):
    call()   # warm: connections, prepared statements, caches
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return percentiles(times)


# --- the chart: a day of one VM ---------------------------------------------------------------

def vm_day(i, ts):
    """A VM's figures at ``ts``: a load that drifts, a counter that grows with it."""
    cpu = 20 + 15 * ((ts // 600 + i) % 5)
    return cpu, 1000.0 * cpu


def fill_builtin(vms, now):
    from apps.monitoring.models import RESOLUTIONS, MetricPoint

    rows = []
    for size, kept in RESOLUTIONS:
        start = int((now - min(kept, 2 * DAY)) // size * size)     # hours: two days are enough for a day's chart
        for i, vm in enumerate(vms):
            for ts in range(start, int(now), size):
                cpu, rate = vm_day(i, ts)
                rows.append(MetricPoint(kind="vm", uuid=vm, resolution=size, ts=ts, cpu=cpu, disk_read_bps=rate))
                if len(rows) >= 5000:
                    MetricPoint.objects.bulk_create(rows)
                    rows = []
    MetricPoint.objects.bulk_create(rows)
    return MetricPoint.objects.count()


def table_bytes(table):
    """The table's data and indexes on disk (MariaDB, after ANALYZE; SQLite: the dbstat table where
    SQLite has it), or None."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
            cursor.execute("SELECT data_length + index_length FROM information_schema.tables "
                           "WHERE table_schema = DATABASE() AND table_name = %s", [table])
            return cursor.fetchone()[0]
        try:
            cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                           "(SELECT name FROM sqlite_master WHERE tbl_name = %s AND type = 'index')", [table, table])
            return cursor.fetchone()[0]
        except Exception:  # noqa: BLE001 - an SQLite without dbstat
            return None


def prometheus_with_a_day(vms, now, workdir):
    """A Prometheus process over a TSDB backfilled with the VMs' day (10 s samples)."""
    source = workdir / "day.om"
    host = str(uuid.UUID(int=1))
    with open(source, "w") as f:
        f.write("# TYPE cloudportal_vm_cpu_percent gauge\n")
        for i, vm in enumerate(vms):
            for ts in range(int(now - DAY - 600), int(now), 10):
                f.write(f'cloudportal_vm_cpu_percent{{vm_uuid="{vm}",host_uuid="{host}"}} {vm_day(i, ts)[0]} {ts}\n')
        f.write("# TYPE cloudportal_vm_disk_read_bytes counter\n")
        for i, vm in enumerate(vms):
            total = 0.0
            for ts in range(int(now - DAY - 600), int(now), 10):
                total += 10 * vm_day(i, ts)[1]
                f.write(f'cloudportal_vm_disk_read_bytes_total{{vm_uuid="{vm}",host_uuid="{host}",device="vda"}} '
                        f'{total} {ts}\n')
        f.write("# EOF\n")
    data = workdir / "tsdb"
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data)],
                   check=True)
    source.unlink()
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 10s\nscrape_configs: []\n")
    port = free_port()
    process = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
                                f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d"],
                               stdout=subprocess.DEVNULL, stderr=open(workdir / "prometheus.log", "w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/-/ready", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    sys.exit("prometheus did not start: " + (workdir / "prometheus.log").read_text()[-1000:])


def chart(args, workdir, results):
    from apps.core.testing import client_for, make_account
    from apps.monitoring.store.builtin import BuiltinStore
    from apps.monitoring.store.prometheus import PrometheusStore

    now = time.time()
    vms = [str(uuid.uuid4()) for _ in range(args.chart_vms)]
    began = time.perf_counter()
    rows = fill_builtin(vms, now)
    print(f"built-in store: {rows:,} rows for {len(vms)} VMs in {time.perf_counter() - began:.1f} s")
    size = table_bytes("monitoring_metricpoint")
    if size:
        results["builtin_bytes_per_row"] = round(size / rows, 1)
        print(f"built-in store: {size / 2 ** 20:.1f} MiB with its indexes, {size / rows:.0f} bytes a row "
              f"(a VM kept a month at 10 s holds 360 + 1,440 + 744 rows)")
    one = vms[len(vms) // 2]
    for metric in ("cpu", "disk_read_bps"):
        figures = timed(lambda: BuiltinStore().series("vm", metric, [one], now - DAY, now, 60), args.rounds)
        points = len(BuiltinStore().series("vm", metric, [one], now - DAY, now, 60)[one])
        results[f"builtin_chart_{metric}"] = {**figures, "points": points}
        print(f"built-in  24 h / 1 min chart of {metric}: {figures} ({points} points)")

    from apps.compute.models import VmInstance

    admin = make_account(f"bench-{uuid.uuid4().hex[:6]}", admin=True)
    VmInstance.objects.create(uuid=one, name="bench-vm", account=admin.account, cpu_num=1, memory_size=1 << 30)
    client = client_for(admin)
    query = {"kind": "vm", "metric": "cpu", "uuids": one, "period": "1d", "step": "60"}
    assert client.get("/api/v1/metrics/series/", query).status_code == 200
    figures = timed(lambda: client.get("/api/v1/metrics/series/", query), args.rounds)
    results["builtin_chart_api"] = figures
    print(f"built-in  the same through /api/v1/metrics/series/ (in process): {figures}")

    if args.no_prometheus or not shutil.which("prometheus") or not shutil.which("promtool"):
        print("Prometheus: skipped (--no-prometheus, or prometheus/promtool missing: apt-get install prometheus)")
        return
    began = time.perf_counter()
    process, url = prometheus_with_a_day(vms[:20] if len(vms) > 20 else vms, now, workdir)
    print(f"Prometheus: a day of {min(20, len(vms))} VMs backfilled and started in {time.perf_counter() - began:.1f} s")
    one = vms[min(len(vms), 20) // 2]
    try:
        store = PrometheusStore(url)
        for metric in ("cpu", "disk_read_bps"):
            figures = timed(lambda: store.series("vm", metric, [one], now - DAY, now, 60), args.rounds)
            points = len(store.series("vm", metric, [one], now - DAY, now, 60).get(one, []))
            results[f"prometheus_chart_{metric}"] = {**figures, "points": points}
            print(f"Prometheus 24 h / 1 min chart of {metric}: {figures} ({points} points)")
    finally:
        process.terminate()
        process.wait(10)


# --- the collector: N VMs per sample -----------------------------------------------------------

class Exposition:
    """One simulated host's exposition server (every VM's counters grow with time)."""

    def __init__(self, host, vms, secret):
        from hostagent.signing import metrics_token

        self.host, self.vms, self.started = host, vms, time.time()
        self.token = metrics_token(secret, host)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = outer.text().encode()
                self.wfile.write((f"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
                self.close_connection = True

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics/{host}"

    def text(self):
        t = time.time() - self.started
        h = f'host_uuid="{self.host}"'
        lines = [f"cloudportal_host_cpu_percent{{{h}}} 35.5", f"cloudportal_host_memory_used_bytes{{{h}}} 8e9",
                 f"cloudportal_host_memory_total_bytes{{{h}}} 6.4e10", f"cloudportal_host_load1{{{h}}} 2.1"]
        for series in ("disk_read_bytes", "disk_write_bytes", "disk_read_ops", "disk_write_ops"):
            lines += [f'cloudportal_host_{series}_total{{{h},device="sd{d}"}} {1e9 + 1e5 * t}' for d in "ab"]
        for series in ("network_rx_bytes", "network_tx_bytes", "network_rx_packets", "network_tx_packets"):
            lines += [f'cloudportal_host_{series}_total{{{h},device="eth{d}"}} {1e9 + 1e5 * t}' for d in "01"]
        for i, vm in enumerate(self.vms):
            v = f'vm_uuid="{vm}",{h}'
            lines += [f"cloudportal_vm_cpu_percent{{{v}}} {i % 100}", f"cloudportal_vm_memory_used_bytes{{{v}}} 5e8"]
            lines += [f'cloudportal_vm_{s}_total{{{v},device="vda"}} {1e6 + 1e3 * t}'
                      for s in ("disk_read_bytes", "disk_write_bytes", "disk_read_ops", "disk_write_ops")]
            lines += [f'cloudportal_vm_{s}_total{{{v},device="vnet{i}",mac="52:54:00:00:00:01"}} {1e6 + 1e3 * t}'
                      for s in ("network_rx_bytes", "network_tx_bytes", "network_rx_packets", "network_tx_packets")]
        return "\n".join(lines) + "\n"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def collector(args, results):
    from apps.monitoring import collector as c
    from apps.monitoring.models import MetricCursor, MetricPoint
    from apps.monitoring.scrape import read_all

    for count in [int(n) for n in args.collector_vms.split(",") if n]:
        MetricPoint.objects.all().delete()
        MetricCursor.objects.all().delete()
        hosts = [Exposition(str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(min(50, count - 50 * h))], "s")
                 for h in range((count + 49) // 50)]
        targets = [(e.url, e.token) for e in hosts]
        c.collect(targets=targets)                  # the first sample has no rates yet
        walls, cpus, db_parts = [], [], []
        for _ in range(args.samples):
            time.sleep(1)
            wall, cpu = time.perf_counter(), time.process_time()
            readings = read_all(targets, 10)
            db_began = time.perf_counter()
            now = time.time()
            c.store(readings, now)
            c.roll_up(now)
            c.prune(now)
            db_parts.append(time.perf_counter() - db_began)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        for e in hosts:
            e.stop()
        figures = {"hosts": len(hosts), "resources": len(readings),
                   "wall_ms_per_sample": round(1000 * statistics.median(walls), 1),
                   "cpu_ms_per_sample": round(1000 * statistics.median(cpus), 1),
                   "database_ms_per_sample": round(1000 * statistics.median(db_parts), 1)}
        figures["cpu_us_per_vm"] = round(1000 * figures["cpu_ms_per_sample"] / count, 1)
        results[f"collector_{count}_vms"] = figures
        print(f"collector, {count} VMs on {len(hosts)} hosts: {figures} (this process's CPU includes the "
              f"exposition servers' threads)")


def main():
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cp-bench-metrics-"))
    env = {"DJANGO_SETTINGS_MODULE": "cloudportal.settings", "CLOUDPORTAL_DATA_DIR": str(workdir / "data"),
           "LOG_LEVEL": "WARNING"}
    if args.zero_setup:
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            os.environ.pop(name, None)
    else:
        from vm_create import fresh_database

        fresh_database(args.database_url)
        env["DATABASE_URL"] = args.database_url
        os.environ.pop("REDIS_URL", None)
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    results = {"database": "sqlite" if args.zero_setup else "mariadb", "interpreter": interpreter(),
               "speed_probe_ms": round(speed_probe(), 1), "load_before": load_before}
    print(f"machine speed probe {results['speed_probe_ms']} ms, load {' '.join(load_before)}, {interpreter()}")
    try:
        chart(args, workdir, results)
        collector(args, results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with open("/proc/loadavg") as f:
        results["load_after"] = f.read().split()[:3]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"metrics_query-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"load after {' '.join(results['load_after'])}; results in {path}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""The zero-setup default under load (issue 14): `make run`'s portal with no configuration (SQLite,
Celery's server-less transport, events through the database), started from a temporary data
directory the way `make run` starts it (migrate, ensure_admin, runportal), driven over HTTP.

Phases, each timed from the outside and from the jobs' own timestamps (created -> started is the
wait for a worker):

1. ``--hosts`` simulated hosts (default 20) added from ``--clients`` threads: time until all are
   Connected; then an image store, an image, local primary storage, a flat L2/L3 and an offering.
2. ``--vms`` creates (default 300) from ``--clients`` threads (default 20), each client waiting
   for its VM's job to end before it sends the next: VMs/s (first POST to last job end), job
   start latency p50/p90/p99/max, job run time p50.
3. ``--burst`` creates (default 100) sent at once from the same threads without waiting (the
   queue builds up): job start latency.
4. ``--scale-hosts`` more simulated hosts (default 200) in a cluster of their own: time from the
   first POST until all are Connected.
5. ``GET /api/v1/vm-instances/?limit=100`` back to back for ``--list-seconds`` (default 30) with
   nothing else running: p50/p99/max and every request slower than 100 ms with its time.
6. With ``--kvm N`` (root, libvirtd, qemu-img): a real KVM host on the local libvirtd (the libvirt
   agent started by the script, added to the database directly), N VMs on it one at a time:
   POST -> libvirt running and POST -> job end, then power-off POST -> libvirt shut off, beside
   a bare libvirt destroy of the same domain kind; phase 5 then also runs with those VMs there.

Targets (issue 14, docs/benchmarks.md): job start p99 <= 0.5 s and >= 20 VMs/s in phase 2; 200
hosts Connected in <= 15 s; list p99 <= 50 ms with no periodic stalls; KVM power-off -> shut off
<= 300 ms and POST -> running <= 1.1 s (medians).

    .venv/bin/python bench/zero_setup.py                          # phases 1-5
    sudo .venv/bin/python bench/zero_setup.py --kvm 5             # and real VMs
    .venv/bin/python bench/zero_setup.py --vms 100 --scale-hosts 0 --list-seconds 10   # quick look
"""
import http.client
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import arg_parser, free_port, interpreter, speed_probe  # noqa: E402  (bench/benchlib.py)

GIB, MIB = 1 << 30, 1 << 20
# what makes a portal leave the zero-setup default; the benchmark runs without them
CONFIGURED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_DEFAULT_QUEUE", "EVENTS_BACKEND",
              "CELERY_TASK_ALWAYS_EAGER", "SIM_AGENT_URL", "PORTAL_URL", "SECRET_KEY")
FINISHED = ("succeeded", "failed", "cancelled")


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--hosts", type=int, default=20, help="simulated hosts the VMs are created on")
    p.add_argument("--vms", type=int, default=300)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--burst", type=int, default=100, help="creates sent at once (0: skip)")
    p.add_argument("--scale-hosts", type=int, default=200, help="hosts added at once (0: skip)")
    p.add_argument("--list-seconds", type=float, default=30.0, help="VM list requests for this long (0: skip)")
    p.add_argument("--kvm", type=int, default=0, help="VMs on the local libvirtd (needs root)")
    p.add_argument("--keep", action="store_true", help="keep the data directory (its path is printed)")
    p.add_argument("--log-level", default="WARNING", help="of the portal's processes (their log: portal.log in the "
                                                           "data directory's parent, kept with --keep)")
    return p.parse_args()


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def spread(values, unit="s", scale=1.0):
    if not values:
        return "none"
    v = [x * scale for x in values]
    return (f"p50 {percentile(v, .5):.3f} {unit}, p90 {percentile(v, .9):.3f}, p99 {percentile(v, .99):.3f}, "
            f"max {max(v):.3f}")


def timestamp(text):
    """A DateTimeField read straight from SQLite (UTC, no zone) as seconds since the epoch."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


class Portal:
    """HTTP to the running portal, one keep-alive connection per thread."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.local = threading.local()

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        for attempt in (1, 2):  # a kept connection the server closed while idle: once more on a new one
            conn = getattr(self.local, "conn", None)
            fresh = conn is None
            if fresh:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                conn.request(method, path, json.dumps(body) if body is not None else None, headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, (json.loads(data) if data else {})
            except (http.client.HTTPException, OSError) as exc:
                self.local.conn = None
                conn.close()
                gone = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if fresh or not gone:
                    raise

    def ok(self, method, path, body=None):
        status, answer = self.call(method, path, body)
        if status not in (200, 201, 202):
            sys.exit(f"{method} {path}: {status} {answer}")
        return answer


class Database:
    """Reads the portal's SQLite file directly (WAL: never in a writer's way), so waiting for jobs
    costs the web server nothing."""

    def __init__(self, path):
        self.path = path
        self.local = threading.local()

    def rows(self, sql, params=()):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        return conn.execute(sql, params).fetchall()

    def jobs(self, uuids):
        """{uuid: (state, created, started, finished)} of the given job uuids."""
        found = {}
        keys = [u.replace("-", "") for u in uuids]
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            for key, state, created, started, finished in self.rows(
                    f"SELECT uuid, state, created_at, started_at, finished_at FROM core_job "
                    f"WHERE uuid IN ({','.join('?' * len(chunk))})", chunk):
                found[str(uuid.UUID(key))] = (state, timestamp(created), started and timestamp(started),
                                              finished and timestamp(finished))
        return found

    def slowest_step(self, job_uuid):
        """(name, seconds) of the job's longest step: the host's own work in a VM's create or stop."""
        [(steps,)] = self.rows("SELECT steps FROM core_job WHERE uuid = ?", (job_uuid.replace("-", ""),))
        return max(((s["name"], (s.get("duration_ms") or 0) / 1000) for s in json.loads(steps)), key=lambda x: x[1])

    def wait_jobs(self, uuids, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            jobs = self.jobs(uuids)
            if len(jobs) == len(uuids) and all(j[0] in FINISHED for j in jobs.values()):
                return jobs
            time.sleep(0.05)
        sys.exit(f"jobs not finished after {timeout} s")


class JobWatcher(threading.Thread):
    """One reader for every client waiting for its job: clients register a job and wait on an event."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db, self.waiting, self.lock, self.stop = db, {}, threading.Lock(), False

    def wait(self, job_uuid, timeout=600):
        done = threading.Event()
        with self.lock:
            self.waiting[job_uuid] = done
        if not done.wait(timeout):
            sys.exit(f"job {job_uuid} not finished after {timeout} s")

    def run(self):
        while not self.stop:
            with self.lock:
                pending = list(self.waiting)
            if pending:
                for job_uuid, job in self.db.jobs(pending).items():
                    if job[0] in FINISHED:
                        with self.lock:
                            self.waiting.pop(job_uuid).set()
            time.sleep(0.01)


def start_portal(work, env):
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(manage + ["ensure_admin"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    log = open(work / "portal.log", "w")
    proc = subprocess.Popen(manage + ["runportal"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    portal = Portal(int(env["PORT"]))
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"runportal exited: see {work / 'portal.log'}")
        try:
            if portal.call("GET", "/api/v1/")[0] in (200, 401, 403):
                break
        except OSError:
            time.sleep(0.3)
    else:
        sys.exit("the portal did not come up in 90 s")
    portal.token = portal.ok("POST", "/api/v1/auth/login/", {"username": "admin",
                                                             "password": env["CLOUDPORTAL_ADMIN_PASSWORD"]})["token"]
    return proc, portal


def stop_portal(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def add_hosts(portal, db, cluster_uuid, count, clients, prefix):
    """``count`` simulated hosts from ``clients`` threads at once; seconds until all are Connected."""
    jobs = []
    lock = threading.Lock()

    def add(index):
        answer = portal.ok("POST", "/api/v1/hosts/", {"name": f"{prefix}-{index}", "cluster_uuid": cluster_uuid,
                                                      "hypervisor_type": "Simulator", "cpu_num": 64,
                                                      "memory_size": 512 * GIB})
        with lock:
            jobs.append(answer["job"]["uuid"])

    started = time.time()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(add, range(count)))
    finished = db.wait_jobs(jobs)
    connected = time.time() - started
    waits = [j[2] - j[1] for j in finished.values() if j[2]]
    failed = sum(1 for j in finished.values() if j[0] != "succeeded")
    return connected, waits, failed


def prepare(portal, db, args, work):
    zone = portal.ok("POST", "/api/v1/zones/", {"name": "bench"})
    cluster = portal.ok("POST", "/api/v1/clusters/", {"name": "sim", "zone_uuid": zone["uuid"],
                                                      "hypervisor_type": "Simulator"})
    seconds, waits, failed = add_hosts(portal, db, cluster["uuid"], args.hosts, args.clients, "sim")
    print(f"{args.hosts} simulated hosts Connected in {seconds:.1f} s ({failed} failed); job start {spread(waits)}",
          flush=True)

    def job(answer):
        db.wait_jobs([answer["job"]["uuid"]])
        return answer["resource"]

    bs = portal.ok("POST", "/api/v1/backup-storage/", {"name": "bs", "type": "ImageStore", "url": str(work / "bs")})
    portal.ok("POST", f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": zone["uuid"]})
    source = work / "image.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(source), "64M"], check=True)
    image = job(portal.ok("POST", "/api/v1/images/", {"name": "img", "url": f"file://{source}", "platform": "Linux",
                                                      "backup_storage_uuids": [bs["uuid"]]}))
    ps = portal.ok("POST", "/api/v1/primary-storage/", {"name": "local", "type": "LocalStorage",
                                                        "url": "/var/lib/cp/ps", "zone_uuid": zone["uuid"]})
    l2 = portal.ok("POST", "/api/v1/l2-networks/", {"name": "flat", "type": "NoVlan", "physical_interface": "eth0",
                                                    "zone_uuid": zone["uuid"]})
    for path in (f"/api/v1/primary-storage/{ps['uuid']}/attach/", f"/api/v1/l2-networks/{l2['uuid']}/attach/"):
        answer = portal.ok("POST", path, {"cluster_uuid": cluster["uuid"]})
        if "job" in answer:
            db.wait_jobs([answer["job"]["uuid"]])
    l3 = portal.ok("POST", "/api/v1/l3-networks/", {"name": "flat", "l2_network_uuid": l2["uuid"],
                                                    "dns": ["10.0.0.53"]})
    portal.ok("POST", f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
        "start_ip": "10.64.0.2", "end_ip": "10.127.255.254", "netmask": "255.192.0.0", "gateway": "10.64.0.1"})
    offering = portal.ok("POST", "/api/v1/instance-offerings/", {"name": "small", "cpu_num": 1,
                                                                 "memory_size": 512 * MIB})
    return zone, {"instance_offering_uuid": offering["uuid"], "image_uuid": image["uuid"],
                  "l3_network_uuids": [l3["uuid"]]}


def create_vms(portal, db, body, count, clients, wait, tag):
    """``count`` creates from ``clients`` threads; with ``wait`` each client waits for its job to end
    before the next POST. Answers the jobs {uuid: (state, created, started, finished)} and the
    first POST's time."""
    watcher = JobWatcher(db)
    watcher.start()
    posted = []
    lock = threading.Lock()

    def client(indices):
        for index in indices:
            status, answer = portal.call("POST", "/api/v1/vm-instances/", {**body, "name": f"{tag}-{index}"})
            if status != 202:
                print(f"POST {status}: {answer}", flush=True)
                continue
            with lock:
                posted.append(answer["job"]["uuid"])
            if wait:
                watcher.wait(answer["job"]["uuid"])

    started = time.time()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, [range(i, count, clients) for i in range(clients)]))
    watcher.stop = True
    return db.wait_jobs(posted), started


def report_creates(label, jobs, started, results):
    done = [j for j in jobs.values() if j[0] == "succeeded"]
    waits = [j[2] - j[1] for j in jobs.values() if j[2]]
    runs = [j[3] - j[2] for j in done]
    last = max((j[3] for j in done), default=started)
    rate = len(done) / max(1e-9, last - started)
    print(f"{label}: {len(done)} of {len(jobs)} succeeded, {rate:.1f} VMs/s (first POST to last job end, "
          f"{last - started:.1f} s); job start {spread(waits)}; job run p50 {1000 * percentile(runs, .5):.0f} ms",
          flush=True)
    results[label] = {"jobs": len(jobs), "succeeded": len(done), "vms_per_second": rate,
                      "start_p50": percentile(waits, .5), "start_p90": percentile(waits, .9),
                      "start_p99": percentile(waits, .99), "start_max": max(waits, default=None),
                      "run_p50": percentile(runs, .5)}


def portal_cpu(pid):
    """CPU seconds so far of each process runportal ``pid`` started (a worker with its pool)."""
    import psutil

    used = {}
    for child in psutil.Process(pid).children():
        try:
            argv = child.cmdline()
            name = next((n for n in ("uvicorn", "worker", "beat", "hostagent") if any(n in a for a in argv)), "other")
            family = [child] + child.children(recursive=True)
            used[name] = used.get(name, 0.0) + sum(sum(p.cpu_times()[:2]) for p in family)
        except psutil.Error:
            pass
    return used


def list_latency(portal, seconds, label, results, pid=None):
    """The JSON VM list, 100 a page, back to back: the slow requests and when they happened, and the
    CPU each process of the portal used meanwhile."""
    portal.ok("GET", "/api/v1/vm-instances/?limit=100")
    cpu0 = portal_cpu(pid) if pid else {}
    took, slow = [], []
    started, started_wall = time.perf_counter(), time.time()
    while time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        status, page = portal.call("GET", "/api/v1/vm-instances/?limit=100")
        ms = 1000 * (time.perf_counter() - t0)
        assert status == 200 and len(page["results"]) == min(100, page.get("count", 100)), status
        took.append(ms)
        if ms > 100:
            slow.append((round(t0 - started, 2), round(ms)))
    cpu = {name: used - cpu0.get(name, 0.0) for name, used in portal_cpu(pid).items()} if pid else {}
    print(f"{label}: {len(took)} requests in {seconds:.0f} s, {spread(took, 'ms')}; over 100 ms: "
          f"{len(slow)} {slow[:20]}", flush=True)
    if cpu:
        print(f"  CPU meanwhile: web {1000 * cpu.get('uvicorn', 0) / len(took):.1f} ms per request; "
              + ", ".join(f"{name} {100 * used / seconds:.1f} %" for name, used in cpu.items() if name != "uvicorn")
              + " of a core", flush=True)
    results[label] = {"requests": len(took), "p50_ms": percentile(took, .5), "p99_ms": percentile(took, .99),
                      "max_ms": max(took), "slow": slow, "cpu_seconds": cpu, "started_at": started_wall}


def kvm_phase(portal, db, zone, args, work, env, results, pid):
    """Real VMs on the local libvirtd: the agent started here, its host row written directly."""
    import libvirt

    libvirt.registerErrorHandler(lambda *_: None, None)  # lookups of domains not there yet are expected
    iface = f"cpz{uuid.uuid4().hex[:6]}"
    agent_port = free_port()
    host_uuid, secret = str(uuid.uuid4()), secrets.token_hex(16)
    (work / "secret").write_text(secret)
    (work / "secret").chmod(0o600)
    subprocess.run(["ip", "link", "add", iface, "type", "veth", "peer", "name", iface + "p"], check=True)
    for name in (iface, iface + "p"):
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
    agent = subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "libvirt", "--port", str(agent_port),
                              "--host-uuid", host_uuid, "--secret-file", str(work / "secret"), "--state-dir",
                              str(work / "agent-state"), "--log-level", env["LOG_LEVEL"]], cwd=ROOT, env=env,
                             stdout=(work / "agent.log").open("w"), stderr=subprocess.STDOUT)
    conn = libvirt.open("qemu:///system")
    vms, l2 = [], None
    try:
        os.environ.update(env)
        import django

        django.setup()
        from apps.infra.models import Cluster, Host

        time.sleep(3)
        cluster = portal.ok("POST", "/api/v1/clusters/", {"name": "kvm", "zone_uuid": zone["uuid"],
                                                          "hypervisor_type": "KVM"})
        Host.objects.create(uuid=host_uuid, name="local-kvm", cluster=Cluster.objects.get(uuid=cluster["uuid"]),
                            hypervisor_type="KVM", management_ip="127.0.0.1", agent_port=agent_port,
                            agent_secret=secret, status="Connected", address_key=f"127.0.0.1:{agent_port}",
                            cpu_num=64, memory_size=64 << 30)  # room for --kvm VMs whatever the machine
        bs = portal.ok("GET", "/api/v1/backup-storage/?q=name=bs")["results"][0]
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(work / "blank.qcow2"), "64M"], check=True)
        answer = portal.ok("POST", "/api/v1/images/", {"name": "blank", "url": f"file://{work / 'blank.qcow2'}",
                                                       "backup_storage_uuids": [bs["uuid"]]})
        db.wait_jobs([answer["job"]["uuid"]])
        image = answer["resource"]
        ps = portal.ok("POST", "/api/v1/primary-storage/", {"name": "kvm-ps", "type": "LocalStorage",
                                                            "url": str(work / "ps"), "zone_uuid": zone["uuid"]})
        l2 = portal.ok("POST", "/api/v1/l2-networks/", {"name": "kvm-l2", "type": "NoVlan",
                                                        "physical_interface": iface, "zone_uuid": zone["uuid"]})
        for path in (f"/api/v1/primary-storage/{ps['uuid']}/attach/", f"/api/v1/l2-networks/{l2['uuid']}/attach/"):
            answer = portal.ok("POST", path, {"cluster_uuid": cluster["uuid"]})
            if "job" in answer:
                db.wait_jobs([answer["job"]["uuid"]])
        l3 = portal.ok("POST", "/api/v1/l3-networks/", {"name": "kvm-l3", "l2_network_uuid": l2["uuid"]})
        portal.ok("POST", f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
            "start_ip": "10.252.9.10", "end_ip": "10.252.9.250", "netmask": "255.255.255.0", "gateway": "10.252.9.1"})
        offering = portal.ok("POST", "/api/v1/instance-offerings/", {"name": "tiny", "cpu_num": 1,
                                                                     "memory_size": 64 * MIB})
        body = {"instance_offering_uuid": offering["uuid"], "image_uuid": image["uuid"], "l3_network_uuids": [l3["uuid"]]}

        def until(predicate, job_uuid, timeout=60):
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline:
                if predicate():
                    return time.perf_counter()
                time.sleep(0.002)
            sys.exit(f"job {job_uuid}: {portal.call('GET', f'/api/v1/jobs/{job_uuid}/')[1]}")

        def domain_state(vm_uuid):
            try:
                return conn.lookupByUUIDString(vm_uuid).state()[0]
            except libvirt.libvirtError:
                return None

        running, running_job, off, off_job, bare_destroy, bare_start = [], [], [], [], [], []
        on_host, off_host = [], []  # the job's longest step: the agent's define + start, its destroy
        for index in range(args.kvm + 1):  # the first fetches the image into the host's cache: not counted
            t0, wall = time.perf_counter(), time.time()
            answer = portal.ok("POST", "/api/v1/vm-instances/", {**body, "name": f"kvm-{index}"})
            vm_uuid, job_uuid = answer["resource"]["uuid"], answer["job"]["uuid"]
            vms.append(vm_uuid)
            t_running = until(lambda: domain_state(vm_uuid) == libvirt.VIR_DOMAIN_RUNNING, job_uuid)
            job = db.wait_jobs([job_uuid])[job_uuid]
            assert job[0] == "succeeded", job
            if index:
                running.append(t_running - t0)
                running_job.append(job[3] - wall)
                on_host.append(db.slowest_step(job_uuid))
        time.sleep(1)
        for vm_uuid in vms[1:]:
            t0, wall = time.perf_counter(), time.time()
            answer = portal.ok("POST", f"/api/v1/vm-instances/{vm_uuid}/power-off/", {})
            t_off = until(lambda: domain_state(vm_uuid) == libvirt.VIR_DOMAIN_SHUTOFF, answer["job"]["uuid"])
            off.append(t_off - t0)
            job = db.wait_jobs([answer["job"]["uuid"]])[answer["job"]["uuid"]]
            off_job.append(job[3] - wall)
            off_host.append(db.slowest_step(answer["job"]["uuid"]))
        for vm_uuid in vms[1:]:  # the bare figures: start again through libvirt, destroy through libvirt
            dom = conn.lookupByUUIDString(vm_uuid)
            t0 = time.perf_counter()
            dom.create()
            bare_start.append(time.perf_counter() - t0)
            time.sleep(0.3)
            t0 = time.perf_counter()
            dom.destroy()
            bare_destroy.append(time.perf_counter() - t0)
        med = statistics.median
        print(f"KVM ({args.kvm} VMs, TCG): POST -> libvirt running median {1000 * med(running):.0f} ms "
              f"(job end {1000 * med(running_job):.0f} ms; its step {on_host[0][0]} "
              f"{1000 * med(x[1] for x in on_host):.0f} ms; bare libvirt start of the same domain "
              f"{1000 * med(bare_start):.0f} ms); power-off POST -> shut off median {1000 * med(off):.0f} ms "
              f"(job end {1000 * med(off_job):.0f} ms; its step {off_host[0][0]} {1000 * med(x[1] for x in off_host):.0f}"
              f" ms; bare libvirt destroy {1000 * med(bare_destroy):.0f} ms)", flush=True)
        results["kvm"] = {"vms": args.kvm, "post_to_running_ms": [1000 * x for x in running],
                          "on_host_step_ms": [1000 * x[1] for x in on_host], "bare_start_ms": [1000 * x for x in bare_start],
                          "off_host_step_ms": [1000 * x[1] for x in off_host],
                          "post_to_job_end_ms": [1000 * x for x in running_job],
                          "power_off_to_shut_off_ms": [1000 * x for x in off],
                          "power_off_job_end_ms": [1000 * x for x in off_job],
                          "bare_destroy_ms": [1000 * x for x in bare_destroy]}
        if args.list_seconds:  # the list with real VMs on a real host (its VM sync) running
            for vm_uuid in vms:
                portal.call("POST", f"/api/v1/vm-instances/{vm_uuid}/start/", {})
            time.sleep(5)
            list_latency(portal, args.list_seconds, "VM list with KVM VMs running", results, pid)
    finally:
        for vm_uuid in vms:
            status, answer = portal.call("POST", f"/api/v1/vm-instances/{vm_uuid}/power-off/", {})
            if status == 202:
                db.wait_jobs([answer["job"]["uuid"]])
            status, answer = portal.call("DELETE", f"/api/v1/vm-instances/{vm_uuid}/")
            if status == 202:
                db.wait_jobs([answer["job"]["uuid"]])
            status, answer = portal.call("POST", f"/api/v1/vm-instances/{vm_uuid}/expunge/", {})
            if status == 202:
                db.wait_jobs([answer["job"]["uuid"]])
            try:
                dom = conn.lookupByUUIDString(vm_uuid)
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
            except libvirt.libvirtError:
                pass
        if l2 is not None:  # its DHCP server and bridge go with it
            status, answer = portal.call("DELETE", f"/api/v1/l2-networks/{l2['uuid']}/")
            if status == 202:
                db.wait_jobs([answer["job"]["uuid"]])
        conn.close()
        agent.terminate()
        agent.wait(20)
        subprocess.run(["ip", "link", "del", iface], capture_output=True)
        subprocess.run(["ip", "link", "del", f"br_{iface}"], capture_output=True)


def main():
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="cp-zero-setup-", dir="/var/tmp"))
    work.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURED}
    env.update(CLOUDPORTAL_DATA_DIR=str(work / "data"), PORT=str(free_port()), LOG_LEVEL=args.log_level,
               CLOUDPORTAL_ADMIN_PASSWORD=secrets.token_urlsafe(12), DJANGO_SETTINGS_MODULE="cloudportal.settings")
    print(f"data directory {work / 'data'}, web port {env['PORT']}; Python {interpreter()}", flush=True)
    results = {"machine": {"cpus": os.cpu_count(), "python": interpreter(), "load_before": os.getloadavg()}}
    probe_before = speed_probe()
    proc, portal = start_portal(work, env)
    try:
        db = Database(work / "data" / "cloudportal.sqlite3")
        zone, body = prepare(portal, db, args, work)
        jobs, started = create_vms(portal, db, body, args.vms, args.clients, wait=True, tag="vm")
        report_creates(f"{args.vms} creates, {args.clients} clients each waiting for its job", jobs, started, results)
        if args.burst:
            jobs, started = create_vms(portal, db, body, args.burst, args.clients, wait=False, tag="burst")
            report_creates(f"{args.burst} creates sent at once from {args.clients} clients", jobs, started, results)
        if args.scale_hosts:
            cluster = portal.ok("POST", "/api/v1/clusters/", {"name": "scale", "zone_uuid": zone["uuid"],
                                                              "hypervisor_type": "Simulator"})
            seconds, waits, failed = add_hosts(portal, db, cluster["uuid"], args.scale_hosts, args.clients, "scale")
            print(f"{args.scale_hosts} more simulated hosts Connected in {seconds:.1f} s ({failed} failed); "
                  f"job start {spread(waits)}", flush=True)
            results["scale_hosts"] = {"hosts": args.scale_hosts, "connected_seconds": seconds, "failed": failed,
                                      "start_p99": percentile(waits, .99)}
        if args.list_seconds:
            time.sleep(2)
            list_latency(portal, args.list_seconds, "VM list (100 a page), nothing else running", results, proc.pid)
        if args.kvm:
            kvm_phase(portal, db, zone, args, work, env, results, proc.pid)
    finally:
        stop_portal(proc)
        results["machine"].update(load_after=os.getloadavg(), speed_probe_ms=[probe_before, speed_probe()])
        print(f"machine speed probe (bench/benchlib.py, lower is faster): {probe_before:.1f} ms before, "
              f"{results['machine']['speed_probe_ms'][1]:.1f} ms after; load {results['machine']['load_before'][0]:.1f}"
              f" -> {results['machine']['load_after'][0]:.1f}", flush=True)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"zero_setup-{int(time.time())}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

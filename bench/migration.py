#!/usr/bin/env python
"""What the portal adds to a live migration (issue 19): ``POST /api/v1/vm-instances/<uuid>/migrate/``
on two real libvirt hosts, minus the time libvirt spent in its migrate call (the agent answers it).

Needs root, libvirtd, qemu-img, unshare/nsenter and MariaDB. Creates its own database (default
``cloudportal_bench_migration``), starts the two libvirt "hosts" of tests/two_hosts.py (a libvirtd
and its agent per mount namespace), the web server (the agents fetch the image from it once), a
veth pair for the L2, a SharedMountPoint primary storage both hosts see; removes them at the end.

One VM (1 CPU, 64 MiB, TCG, a qcow2 overlay on the shared image cache, one NIC on a bridge, VNC)
is migrated back and forth ``--rounds`` times; the flow runs in this process (eager: the POST
returns when the job is done, so its duration is the whole flow without the broker hop). Per
migration: the POST's wall time, libvirt's time (``migration_time`` of /v1/vm/migrate, the job's
``result.migration.libvirt_seconds``) and the agent call's. Target: the portal adds <= 0.5 s.

    .venv/bin/python bench/migration.py --rounds 10
"""
import argparse
import json
import os
import platform
import shutil
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
from cloudportal import webserver  # noqa: E402
MIB = 1 << 20


def time_steps():
    """{step name: [seconds per run]} of the live migration flow's steps, timed around their run."""
    from apps.compute.flows.vm_migrate import LIVE_MIGRATE_VM

    times = {}
    for step in LIVE_MIGRATE_VM.steps:
        def timed(self, ctx, _run=step.run, _name=step.step_name()):
            started = time.perf_counter()
            try:
                return _run(self, ctx)
            finally:
                times.setdefault(_name, []).append(time.perf_counter() - started)
        step.run = timed
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/cloudportal_bench_migration")
    args = p.parse_args()

    from bench.vm_create import fresh_database

    fresh_database(args.database_url)
    work = Path("/var/tmp/cloudportal-bench") / uuid.uuid4().hex[:8]
    work.mkdir(parents=True)
    Path("/var/tmp/cloudportal-bench").chmod(0o755)
    iface = f"cpm{uuid.uuid4().hex[:6]}"
    web_port = free_port()
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL="redis://127.0.0.1:6379/14",
               CELERY_BROKER_URL="redis://127.0.0.1:6379/14", PORTAL_URL=f"http://127.0.0.1:{web_port}",
               LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="cloudportal.settings",
               CLOUDPORTAL_DATA_DIR=str(work / "data"))
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(["ip", "link", "add", iface, "type", "veth", "peer", "name", iface + "p"], check=True)
    for name in (iface, iface + "p"):
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
    web = subprocess.Popen(webserver.command("127.0.0.1", web_port, "warning"), cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import django

    django.setup()
    import libvirt
    from rest_framework.test import APIClient

    from apps.accounts.models import ApiToken
    from apps.core.testing import make_account
    from apps.infra import agent
    from apps.infra.models import Cluster, Host, Zone
    from cloudportal.celery import app as celery_app
    from tests.two_hosts import TwoHosts

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    celery_app.conf.task_always_eager = True
    hosts = TwoHosts().start()
    client = APIClient()
    vm = l2 = None
    took, libvirt_s, call_s = [], [], []
    step_times = time_steps()
    try:
        time.sleep(3)   # the web server
        client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(make_account('bench', admin=True))}")

        def ok(response):
            assert response.status_code in (200, 201, 202), response.content
            return response.json()

        zone = Zone.objects.create(name="bench")
        cluster = Cluster.objects.create(name="kvm", zone=zone, hypervisor_type="KVM")
        for host in hosts.hosts:
            row = Host.objects.create(uuid=host.host_uuid, name=f"kvm-{host.name}", cluster=cluster,
                                      hypervisor_type="KVM", management_ip="127.0.0.1", agent_port=host.agent.port,
                                      agent_secret=host.secret, status="Connected", cpu_num=os.cpu_count(),
                                      memory_size=8 << 30, address_key=f"127.0.0.1:{host.agent.port}")
            row.facts = agent.call(row, "/v1/host/connect", agent.connect_body())["facts"]
            row.save(update_fields=["facts"])
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "bs", "type": "ImageStore",
                                                        "url": str(work / "bs")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": str(zone.uuid)}, format="json"))
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(work / "blank.qcow2"), "64M"], check=True)
        image = ok(client.post("/api/v1/images/", {"name": "blank", "url": f"file://{work / 'blank.qcow2'}",
                                                   "backup_storage_uuids": [bs["uuid"]]}, format="json"))["resource"]
        (hosts.shared_dir / "smp").mkdir(mode=0o755)
        ps = ok(client.post("/api/v1/primary-storage/", {"name": "smp", "type": "SharedMountPoint",
                                                         "url": str(hosts.shared_dir / "smp"),
                                                         "zone_uuid": str(zone.uuid)}, format="json"))
        ok(client.post(f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)},
                       format="json"))
        l2 = ok(client.post("/api/v1/l2-networks/", {"name": "l2", "type": "NoVlan", "physical_interface": iface,
                                                     "zone_uuid": str(zone.uuid)}, format="json"))
        ok(client.post(f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)},
                       format="json"))
        l3 = ok(client.post("/api/v1/l3-networks/", {"name": "l3", "l2_network_uuid": l2["uuid"], "dhcp": False},
                            format="json"))
        ok(client.post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
            "start_ip": "10.252.9.10", "end_ip": "10.252.9.200", "netmask": "255.255.255.0",
            "gateway": "10.252.9.1"}, format="json"))
        offering = ok(client.post("/api/v1/instance-offerings/", {"name": "tiny", "cpu_num": 1,
                                                                  "memory_size": 64 * MIB}, format="json"))
        ok(client.patch("/api/v1/global-configs/vm/deletionPolicy/", {"value": "Direct"}, format="json"))
        created = ok(client.post("/api/v1/vm-instances/", {
            "name": "mover", "instance_offering_uuid": offering["uuid"], "image_uuid": image["uuid"],
            "l3_network_uuids": [l3["uuid"]], "primary_storage_type": "SharedMountPoint"}, format="json"))
        vm = created["resource"]["uuid"]
        assert ok(client.get(f"/api/v1/jobs/{created['job']['uuid']}/"))["state"] == "succeeded"
        for _ in range(args.rounds + 1):   # the first one warms the caches up: not counted
            started = time.perf_counter()
            answer = ok(client.post(f"/api/v1/vm-instances/{vm}/migrate/", {}, format="json"))
            wall = time.perf_counter() - started
            job = ok(client.get(f"/api/v1/jobs/{answer['job']['uuid']}/"))
            assert job["state"] == "succeeded", job
            took.append(wall)
            libvirt_s.append(job["result"]["migration"]["libvirt_seconds"])
            call_s.append(job["result"]["migration"]["call_seconds"])
        took, libvirt_s, call_s = took[1:], libvirt_s[1:], call_s[1:]
        per_step = {name: statistics.median(times[1:]) * 1000 for name, times in step_times.items()}
        print("per step p50 (ms):", ", ".join(f"{name} {ms:.0f}" for name, ms in per_step.items()))
        overhead = [t - lv for t, lv in zip(took, libvirt_s)]
        agent_part = [c - lv for c, lv in zip(call_s, libvirt_s)]
        print(f"{args.rounds} live migrations between two libvirt hosts (TCG, 64 MiB): POST -> done p50 "
              f"{statistics.median(took) * 1000:.0f} ms; libvirt's migrate p50 {statistics.median(libvirt_s) * 1000:.0f} ms;"
              f" portal overhead p50 {statistics.median(overhead) * 1000:.0f} ms (min {min(overhead) * 1000:.0f}, "
              f"max {max(overhead) * 1000:.0f}; target <= 500), of which the agent call around libvirt's p50 "
              f"{statistics.median(agent_part) * 1000:.0f} ms")
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"migration-{int(time.time())}.json").write_text(json.dumps({
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
            "post_seconds": took, "libvirt_seconds": libvirt_s, "call_seconds": call_s,
            "p50_overhead_ms": statistics.median(overhead) * 1000}, indent=2))
    finally:
        if vm is not None:
            client.delete(f"/api/v1/vm-instances/{vm}/")
            hosts.remove_domain(vm)
        if l2 is not None:
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")
        hosts.stop()
        web.terminate()
        web.wait(20)
        subprocess.run(["ip", "link", "del", iface], capture_output=True)
        subprocess.run(["ip", "link", "del", f"br_{iface}"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

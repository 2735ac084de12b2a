#!/usr/bin/env python
"""What the portal adds to starting a VM on real QEMU (issue 4): POST -> Running for one VM on
the local libvirtd, beside the bare cost of libvirt define + start of the same domain.

Needs root, libvirtd (qemu:///system), qemu-img and MariaDB. Creates its own database
(default ``cloudportal_bench_kvm``), runs a real libvirt host agent and the web server
(uvicorn, from which the agent fetches the image once), a veth pair for the L2 and a
directory under /var/tmp for primary storage; removes them at the end.

Each VM: ``POST /api/v1/vm-instances/`` with the create flow run in this process (eager: the
POST returns when the VM is Running, so its duration is POST -> Running without the broker
hop) on 1 CPU / 64 MiB, a qcow2 overlay on the cached image, one NIC with DHCP. The bare
figure: ``defineXML`` + ``create`` through libvirt-python of a domain with the same devices
(a fresh overlay, a NIC on the same bridge, VNC). Target: the portal adds <= 0.5 s at p50.

    .venv/bin/python bench/vm_kvm_latency.py --vms 10
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
from benchlib import free_port  # noqa: E402  (bench/benchlib.py)
from cloudportal import webserver  # noqa: E402
MIB = 1 << 20



def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vms", type=int, default=10)
    p.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/cloudportal_bench_kvm")
    args = p.parse_args()

    from bench.vm_create import fresh_database

    fresh_database(args.database_url)
    work = Path("/var/tmp/cloudportal-bench") / uuid.uuid4().hex[:8]
    work.mkdir(parents=True)
    Path("/var/tmp/cloudportal-bench").chmod(0o755)
    iface = f"cpb{uuid.uuid4().hex[:6]}"
    web_port, agent_port = free_port(), free_port()
    host_uuid, secret = str(uuid.uuid4()), uuid.uuid4().hex
    (work / "secret").write_text(secret)
    (work / "secret").chmod(0o600)
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL="redis://127.0.0.1:6379/14",
               CELERY_BROKER_URL="redis://127.0.0.1:6379/14", PORTAL_URL=f"http://127.0.0.1:{web_port}",
               LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="cloudportal.settings",
               CLOUDPORTAL_DATA_DIR=str(work / "data"))
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(["ip", "link", "add", iface, "type", "veth", "peer", "name", iface + "p"], check=True)
    for name in (iface, iface + "p"):
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
    procs = [
        subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "libvirt", "--port", str(agent_port),
                          "--host-uuid", host_uuid, "--secret-file", str(work / "secret"), "--state-dir",
                          str(work / "agent-state"), "--log-level", "WARNING"], cwd=ROOT, env=env),
        subprocess.Popen(webserver.command("127.0.0.1", web_port, "warning"), cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    import django

    django.setup()
    import libvirt
    from rest_framework.test import APIClient

    from apps.accounts.models import ApiToken
    from apps.core.testing import make_account
    from apps.infra.models import Cluster, Host, Zone
    from cloudportal.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    portal_ms, bare_ms, vms = [], [], []
    conn = libvirt.open("qemu:///system")
    l2 = None
    client = APIClient()
    try:
        time.sleep(4)
        client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(make_account('bench', admin=True))}")

        def ok(response):
            assert response.status_code in (200, 201, 202), response.content
            return response.json()

        zone = Zone.objects.create(name="bench")
        cluster = Cluster.objects.create(name="kvm", zone=zone, hypervisor_type="KVM")
        Host.objects.create(uuid=host_uuid, name="local", cluster=cluster, hypervisor_type="KVM",
                            management_ip="127.0.0.1", agent_port=agent_port, agent_secret=secret,
                            status="Connected", address_key=f"127.0.0.1:{agent_port}", cpu_num=os.cpu_count(),
                            memory_size=8 << 30)
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "bs", "type": "ImageStore",
                                                        "url": str(work / "bs")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": str(zone.uuid)}, format="json"))
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(work / "blank.qcow2"), "64M"], check=True)
        image = ok(client.post("/api/v1/images/", {"name": "blank", "url": f"file://{work / 'blank.qcow2'}",
                                                   "backup_storage_uuids": [bs["uuid"]]}, format="json"))["resource"]
        ps = ok(client.post("/api/v1/primary-storage/", {"name": "ps", "type": "LocalStorage",
                                                         "url": str(work / "ps"), "zone_uuid": str(zone.uuid)},
                            format="json"))
        ok(client.post(f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)},
                       format="json"))
        l2 = ok(client.post("/api/v1/l2-networks/", {"name": "l2", "type": "NoVlan", "physical_interface": iface,
                                                     "zone_uuid": str(zone.uuid)}, format="json"))
        ok(client.post(f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": str(cluster.uuid)},
                       format="json"))
        l3 = ok(client.post("/api/v1/l3-networks/", {"name": "l3", "l2_network_uuid": l2["uuid"]}, format="json"))
        ok(client.post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
            "start_ip": "10.252.7.10", "end_ip": "10.252.7.200", "netmask": "255.255.255.0",
            "gateway": "10.252.7.1"}, format="json"))
        offering = ok(client.post("/api/v1/instance-offerings/", {"name": "tiny", "cpu_num": 1,
                                                                  "memory_size": 64 * MIB}, format="json"))
        ok(client.patch("/api/v1/global-configs/vm/deletionPolicy/", {"value": "Direct"}, format="json"))
        body = {"instance_offering_uuid": offering["uuid"], "image_uuid": image["uuid"],
                "l3_network_uuids": [l3["uuid"]]}
        from apps.storage.models import ImageCache

        bridge = f"br_{iface}"
        bare = []

        def bare_define_and_start(index):
            """The same devices straight through libvirt: a fresh overlay on the same cache, a NIC on the
            same bridge, VNC with a password."""
            vm = str(uuid.uuid4())
            disk = work / f"bare-{index}.qcow2"
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", cache_file, "-F", "qcow2",
                            str(disk)], check=True)
            xml = (f"<domain type='qemu'><name>cp-bare-{vm}</name><uuid>{vm}</uuid><memory unit='KiB'>65536</memory>"
                   "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><boot dev='hd'/><boot dev='network'/></os>"
                   f"<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>"
                   "<target dev='vda' bus='virtio'/></disk><interface type='bridge'>"
                   f"<mac address='fa:16:3e:00:{index // 256:02x}:{index % 256:02x}'/><source bridge='{bridge}'/>"
                   "<model type='virtio'/></interface><graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' "
                   "passwd='secret12'/></devices></domain>")
            started = time.perf_counter()
            dom = conn.defineXML(xml)
            dom.create()
            bare_ms.append((time.perf_counter() - started) * 1000)
            bare.append(dom)

        # alternately, so both kinds start with the same number of TCG guests already running
        for index in range(args.vms + 1):  # the first VM fetches the image into the cache: not counted
            started = time.perf_counter()
            created = ok(client.post("/api/v1/vm-instances/", {**body, "name": f"vm{index}"}, format="json"))
            took = time.perf_counter() - started
            job = ok(client.get(f"/api/v1/jobs/{created['job']['uuid']}/"))  # the answer was made before it ran
            assert job["state"] == "succeeded", job
            vms.append(created["resource"]["uuid"])
            if index == 0:
                cache_file = ImageCache.objects.get().install_path
                continue
            portal_ms.append(took * 1000)
            bare_define_and_start(index)
        for dom in bare:
            dom.destroy()
            dom.undefine()
        p50_portal, p50_bare = statistics.median(portal_ms), statistics.median(bare_ms)
        print(f"{args.vms} VMs on the local libvirtd (TCG): portal POST -> Running p50 {p50_portal:.0f} ms "
              f"(min {min(portal_ms):.0f}, max {max(portal_ms):.0f}); bare define+start p50 {p50_bare:.0f} ms "
              f"(min {min(bare_ms):.0f}, max {max(bare_ms):.0f}); the portal adds {p50_portal - p50_bare:.0f} ms "
              f"(target <= 500)")
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"vm_kvm_latency-{int(time.time())}.json").write_text(json.dumps({
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
            "portal_ms": portal_ms, "bare_ms": bare_ms, "p50_portal_ms": p50_portal, "p50_bare_ms": p50_bare},
            indent=2))
    finally:
        for vm in vms:  # vm.deletionPolicy is Direct here: DELETE expunges
            client.delete(f"/api/v1/vm-instances/{vm}/")
        if l2 is not None:  # its L3's DHCP server and the bridge go with it
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")
        conn.close()
        for proc in procs:
            proc.terminate()
            proc.wait(20)
        subprocess.run(["ip", "link", "del", iface], capture_output=True)
        subprocess.run(["ip", "link", "del", f"br_{iface}"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

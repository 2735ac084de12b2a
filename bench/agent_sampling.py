#!/usr/bin/env python
"""The host agent's time per sample (issue 17): the simulator with N hosts and M VMs each, and
(with --real N) the libvirt backend over N tiny running QEMU domains.

In the agent's own process, without its HTTP server: sim, the background tick and a full round of
scrapes (every host worked out and rendered as /metrics, which is where the simulator's work is);
libvirt, one sample (the domain list from libvirtd, /proc, the latest background answers) and
its rendering, then the background round of block and balloon figures on its own. --real needs
root, libvirtd (qemu:///system) and qemu-img; its domains are transient (named cp-<uuid>, 1 vCPU,
64 MiB, a 64 MiB qcow2 disk, a NIC on a bridge of the bench's own) and destroyed at the end.
Target (issue 17): 100 real domains sampled in <= 50 ms.

    .venv/bin/python bench/agent_sampling.py --hosts 1000 --vms-per-host 10
    .venv/bin/python bench/agent_sampling.py --hosts 0 --real 20
"""
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import arg_parser, interpreter, speed_probe  # noqa: E402  (bench/benchlib.py)
from hostagent.exposition import render  # noqa: E402


def summary(seconds):
    ms = sorted(1000 * s for s in seconds)
    return {"p50_ms": round(statistics.median(ms), 2), "max_ms": round(ms[-1], 2), "rounds": len(ms)}


def bench_sim(hosts, vms_per_host, rounds, interval):
    from hostagent.backends.sim import SimBackend

    backend = SimBackend({})
    for _ in range(hosts):
        host_uuid = str(uuid.uuid4())
        backend.add_host({"host_uuid": host_uuid, "secret": "s", "cpu_num": 32, "memory_size": 256 << 30})
        for index in range(vms_per_host):
            vm_uuid = str(uuid.uuid4())
            backend.vm_define(host_uuid, {"vm_uuid": vm_uuid, "name": "v", "cpu_num": 2, "memory_size": 4 << 30,
                                          "disk_path": "/x.qcow2", "vnc": False,
                                          "nics": [{"mac": f"fa:16:3e:00:{index // 256:02x}:{index % 256:02x}",
                                                    "bridge": "br_x", "model": "virtio"}]})
            backend.vm_op(host_uuid, "start", vm_uuid, {})
    ticks, rounds_spent, sizes = [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        samples = backend.sample()
        ticks.append(time.perf_counter() - started)
        # the time base moves as it would between two samples
        samples.now += interval
        started = time.perf_counter()
        size = sum(len(render(samples.get(host_uuid))) for host_uuid in backend.hosts)
        rounds_spent.append(time.perf_counter() - started)
        sizes.append(size)
    vms = hosts * vms_per_host
    scrape = summary(rounds_spent)
    return {"hosts": hosts, "vms": vms, "tick": summary(ticks), "all_hosts_scraped": scrape,
            "per_host_scrape_ms": round(scrape["p50_ms"] / max(1, hosts), 3),
            "core_share_at_interval_percent": round(100 * scrape["p50_ms"] / 1000 / interval, 2),
            "exposition_bytes_per_round": sizes[-1]}


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_real(count, rounds):
    """Domains as the agent defines them (a qcow2 disk, a NIC on a bridge, the balloon's stats
    period); the sample, then the background round of block and balloon figures on its own."""
    import libvirt

    from hostagent.backends.libvirt_backend import LibvirtBackend

    work = Path("/tmp/cp-bench-agent-sampling")
    work.mkdir(exist_ok=True)
    bridge = "cpbsample0"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=False, capture_output=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    libvirtd = int(subprocess.run(["pgrep", "-o", "-x", "libvirtd"], capture_output=True, text=True,
                                  check=True).stdout.split()[0])
    backend = LibvirtBackend({"host_uuid": str(uuid.uuid4()), "secret": "s", "libvirt_uri": "qemu:///system",
                              "state_dir": str(work)})
    backend.start(None)   # libvirt's event loop (keepalive), then the connection
    conn = backend.conn()
    domains = []
    try:
        for index in range(count):
            vm_uuid = str(uuid.uuid4())
            disk = work / f"{vm_uuid}.qcow2"
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
            xml = backend.domain_xml({"vm_uuid": vm_uuid, "name": f"bench-{index}", "cpu_num": 1,
                                      "memory_size": 64 << 20, "disk_path": str(disk), "disk_format": "qcow2",
                                      "vnc": False, "nics": [{"mac": f"fa:16:3e:ff:{index // 256:02x}:{index % 256:02x}",
                                                              "bridge": bridge, "model": "virtio"}]})
            domains.append(conn.createXML(xml, 0))
        time.sleep(2)
        backend.sample()      # the first CPU readings, the domains' XML, the first background round
        time.sleep(2)
        samples, cpu, renders, rounds_wall, rounds_libvirtd = [], [], [], [], []
        for _ in range(rounds):
            time.sleep(1.0)   # the background round of the sample before is over, as it is 10 s apart
            started, started_cpu = time.perf_counter(), time.process_time()
            taken = backend.sample()
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            started = time.perf_counter()
            [sample] = taken.values()
            render(sample)
            renders.append(time.perf_counter() - started)
        for _ in range(rounds):
            time.sleep(0.5)
            started, daemon = time.perf_counter(), _cpu_seconds(libvirtd)
            figures = backend._domain_stats.qemu.ask(backend.conn(sampling=True), domains)
            rounds_wall.append(time.perf_counter() - started)
            rounds_libvirtd.append(_cpu_seconds(libvirtd) - daemon)
        with_disks = sum(1 for vm in sample.vms if vm.disks)
        with_nics = sum(1 for vm in sample.vms if vm.nics)
        return {"domains": count, "sampled_vms": len(sample.vms), "with_disk_figures": with_disks,
                "with_nic_figures": with_nics, "answered_by_qemu_round": len(figures),
                "sample": summary(samples), "sample_agent_cpu": summary(cpu), "render": summary(renders),
                "qemu_round": summary(rounds_wall), "qemu_round_libvirtd_cpu": summary(rounds_libvirtd)}
    finally:
        for dom in domains:
            try:
                dom.destroy()
            except libvirt.libvirtError:
                pass
        backend.close()
        subprocess.run(["ip", "link", "del", bridge], check=False)
        for disk in work.glob("*.qcow2"):
            disk.unlink()


def main():
    parser = arg_parser(__doc__)
    parser.add_argument("--hosts", type=int, default=1000, help="simulated hosts (0: no sim run)")
    parser.add_argument("--vms-per-host", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--interval", type=float, default=10.0, help="sample interval the share is reckoned at")
    parser.add_argument("--real", type=int, default=0, help="also sample N real running QEMU domains")
    args = parser.parse_args()
    results = {"date": time.strftime("%Y-%m-%d %H:%M"), "python": interpreter(), "speed_probe_ms": round(speed_probe())}
    print(f"python {results['python']}; speed probe {results['speed_probe_ms']} ms")
    if args.hosts:
        sim = results["sim"] = bench_sim(args.hosts, args.vms_per_host, args.rounds, args.interval)
        print(f"sim: {sim['hosts']} hosts, {sim['vms']} VMs: tick p50 {sim['tick']['p50_ms']} ms; every host "
              f"scraped once: p50 {sim['all_hosts_scraped']['p50_ms']} ms, max {sim['all_hosts_scraped']['max_ms']} ms "
              f"({sim['per_host_scrape_ms']} ms a host, {sim['core_share_at_interval_percent']} % of a core at "
              f"{args.interval:g} s; {sim['exposition_bytes_per_round']} bytes)")
    if args.real:
        real = results["libvirt"] = bench_real(args.real, args.rounds)
        print(f"libvirt: {real['domains']} running domains ({real['sampled_vms']} sampled, "
              f"{real['with_disk_figures']} with disk and {real['with_nic_figures']} with NIC figures): one sample "
              f"p50 {real['sample']['p50_ms']} ms, max {real['sample']['max_ms']} ms, agent CPU p50 "
              f"{real['sample_agent_cpu']['p50_ms']} ms; rendering p50 {real['render']['p50_ms']} ms")
        print(f"  background round of block and balloon figures ({real['answered_by_qemu_round']} domains): "
              f"p50 {real['qemu_round']['p50_ms']} ms, max {real['qemu_round']['max_ms']} ms, libvirtd CPU p50 "
              f"{real['qemu_round_libvirtd_cpu']['p50_ms']} ms")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "agent_sampling.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

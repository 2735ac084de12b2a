#!/usr/bin/env python
"""The host agent's time per sample (issue 17): the simulator with N hosts and M VMs each, and
(with --real N) the libvirt backend over N tiny running QEMU domains.

In the agent's own process, without its HTTP server: sim, the background tick and a full round of
scrapes (every host worked out and rendered as /metrics, which is where the simulator's work is);
libvirt, one sample (one bulk getAllDomainStats call plus /proc) and its rendering. --real needs
root and libvirtd (qemu:///system); its domains are transient (named cp-<uuid>, 1 vCPU, 64 MiB, no
disk) and destroyed at the end. Target (issue 17): 100 real domains sampled in <= 50 ms.

    .venv/bin/python bench/agent_sampling.py --hosts 1000 --vms-per-host 10
    .venv/bin/python bench/agent_sampling.py --hosts 0 --real 20
"""
import json
import statistics
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


def bench_real(count, rounds):
    import libvirt

    from hostagent.backends.libvirt_backend import LibvirtBackend

    conn = libvirt.open("qemu:///system")
    arch = conn.getInfo()[0]
    domains = []
    try:
        for _ in range(count):
            vm_uuid = str(uuid.uuid4())
            domains.append(conn.createXML(
                f"<domain type='qemu'><name>cp-{vm_uuid}</name><uuid>{vm_uuid}</uuid>"
                f"<memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type arch='{arch}'>hvm</type></os>"
                "<devices/></domain>", 0))
        backend = LibvirtBackend({"host_uuid": str(uuid.uuid4()), "secret": "s", "libvirt_uri": "qemu:///system",
                                  "state_dir": "/tmp/cp-bench-agent-sampling"})
        backend.start(None)   # libvirt's event loop (keepalive), then the connection
        backend.sample()      # the first CPU readings, the domains' XML
        samples, renders = [], []
        for _ in range(rounds):
            time.sleep(0.2)
            started = time.perf_counter()
            taken = backend.sample()
            samples.append(time.perf_counter() - started)
            started = time.perf_counter()
            [sample] = taken.values()
            render(sample)
            renders.append(time.perf_counter() - started)
        sampled = len(sample.vms)
        backend.close()
        return {"domains": count, "sampled_vms": sampled, "sample": summary(samples), "render": summary(renders)}
    finally:
        for dom in domains:
            try:
                dom.destroy()
            except libvirt.libvirtError:
                pass
        conn.close()


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
        print(f"libvirt: {real['domains']} running domains ({real['sampled_vms']} sampled): one sample p50 "
              f"{real['sample']['p50_ms']} ms, max {real['sample']['max_ms']} ms; rendering p50 "
              f"{real['render']['p50_ms']} ms")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "agent_sampling.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

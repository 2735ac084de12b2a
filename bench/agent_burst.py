#!/usr/bin/env python
"""How a real libvirt host agent answers during a burst of VM creates (issue 14): N
``/v1/vm/define`` with ``"start": true`` sent at once, ``/v1/host/ping`` and ``/v1/vm/states``
timed every 0.2 s meanwhile.

Needs root and libvirtd (qemu:///system); no database. Starts its own agent on a free port and
undefines its domains at the end. Tiny domains (1 CPU, 64 MiB, no disk, VNC). Targets: every
create succeeds; a ping answers in milliseconds and the states read in well under a second while
the creates run.

    .venv/bin/python bench/agent_burst.py --vms 50
"""
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import arg_parser, free_port  # noqa: E402  (bench/benchlib.py)
from hostagent.client import AgentClient, AgentError  # noqa: E402


def start_agent(directory):
    host_uuid, secret = str(uuid.uuid4()), uuid.uuid4().hex
    (directory / "secret").write_text(secret)
    os.chmod(directory / "secret", 0o600)
    port = free_port()
    log = open(directory / "agent.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "hostagent", "--backend", "libvirt", "--port", str(port),
                             "--host-uuid", host_uuid, "--secret-file", str(directory / "secret"),
                             "--state-dir", str(directory / "state")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    client = AgentClient(f"http://127.0.0.1:{port}", host_uuid, secret, timeout=5)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.call("/v1/host/facts")   # libvirt's first connection probes capabilities
            return proc, client
        except AgentError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the agent did not start: {(directory / 'agent.log').read_text()}")
            time.sleep(0.2)


def main():
    parser = arg_parser(__doc__)
    parser.add_argument("--vms", type=int, default=50, help="creates sent at once (default 50)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="agent-burst-"))
    proc, client = start_agent(directory)
    slow = AgentClient(client.base_url, client.host_uuid, client.secret, timeout=300)
    vms = [str(uuid.uuid4()) for _ in range(args.vms)]
    results, took = {}, {}

    def create(vm):
        started = time.monotonic()
        try:
            results[vm] = slow.call("/v1/vm/define", {"vm_uuid": vm, "name": "burst", "cpu_num": 1,
                                                      "memory_size": 64 << 20, "start": True})["state"]
        except AgentError as exc:
            results[vm] = exc.code
        took[vm] = time.monotonic() - started

    try:
        threads = [threading.Thread(target=create, args=(vm,)) for vm in vms]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        probes = {"/v1/host/ping": [], "/v1/vm/states": []}
        while any(thread.is_alive() for thread in threads):
            for path, waits in probes.items():
                begun = time.monotonic()
                client.call(path)
                waits.append(1000 * (time.monotonic() - begun))
            time.sleep(0.2)
        total = time.monotonic() - started
        outcome = {state: list(results.values()).count(state) for state in sorted(set(results.values()))}
        print(f"{args.vms} creates in {total:.1f} s, slowest {max(took.values()):.1f} s: {outcome}")
        for path, waits in probes.items():
            print(f"{path}: n={len(waits)} p50={statistics.median(waits):.0f} ms max={max(waits):.0f} ms")
    finally:
        for vm in vms:
            try:
                slow.call("/v1/vm/undefine", {"vm_uuid": vm})
            except AgentError:
                pass
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()

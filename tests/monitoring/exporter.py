"""A contract-shaped agent exposition for tests (GET /metrics/{host_uuid}, bearer or ?token=):
one host and its VMs with fixed gauges and counters that grow at fixed rates, so any store that
reads them right answers known figures."""
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from apps.monitoring.scrape import metrics_token


class FakeAgent:
    def __init__(self, host_uuid, secret, vms, host=None):
        """``vms``: {vm_uuid: {"cpu": %, "memory_used": bytes, "disk_read_bps": [per device], ...}};
        ``host``: the same for the host (cpu, memory_used, memory_total, load1, rates per device)."""
        self.host_uuid, self.secret, self.vms = host_uuid, secret, vms
        self.host = host or {}
        self.started = time.time()
        self.scrapes = 0

    def exposition(self):
        elapsed = time.time() - self.started
        lines = []

        def emit(name, kind, samples):
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{{{labels}}} {value!r}" for labels, value in samples)

        h = f'host_uuid="{self.host_uuid}"'
        for name, key in (("cpu_percent", "cpu"), ("memory_used_bytes", "memory_used"),
                          ("memory_total_bytes", "memory_total"), ("load1", "load1")):
            if key in self.host:
                emit(f"cloudportal_host_{name}", "gauge", [(h, float(self.host[key]))])
        for name, key in (("cpu_percent", "cpu"), ("memory_used_bytes", "memory_used")):
            emit(f"cloudportal_vm_{name}", "gauge",
                 [(f'vm_uuid="{u}",{h}', float(v[key])) for u, v in self.vms.items() if key in v])
        counters = {"disk_read_bytes_total": "disk_read_bps", "disk_write_ops_total": "disk_write_iops",
                    "network_rx_bytes_total": "net_rx_bps", "network_tx_packets_total": "net_tx_pps"}
        for series, key in counters.items():
            def device(i):
                return f'device="vnet{i}",mac="52:54:00:00:00:0{i}"' if series.startswith("network") else f'device="vd{i}"'

            samples = [(f'vm_uuid="{u}",{h},{device(i)}', 1e6 + rate * elapsed)
                       for u, v in self.vms.items() for i, rate in enumerate(v.get(key, []))]
            emit(f"cloudportal_vm_{series}", "counter", samples)
            host_samples = [(f'{h},device="d{i}"', 1e6 + rate * elapsed) for i, rate in enumerate(self.host.get(key, []))]
            if host_samples:
                emit(f"cloudportal_host_{series}", "counter", host_samples)
        emit("cloudportal_agent_sample_timestamp_seconds", "gauge", [(h, time.time())])
        return "\n".join(lines) + "\n"

    def start(self):
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                token = urllib.parse.parse_qs(url.query).get("token", [""])[0]
                bearer = self.headers.get("Authorization", "")
                token = bearer[len("Bearer "):] if bearer.startswith("Bearer ") else token
                ok = url.path == f"/metrics/{agent.host_uuid}" and token == metrics_token(agent.secret, agent.host_uuid)
                body = agent.exposition().encode() if ok else b"unauthorized\n"
                agent.scrapes += ok
                head = (f"HTTP/1.1 {200 if ok else 401} {'OK' if ok else 'Unauthorized'}\r\n"
                        f"Content-Type: text/plain; version=0.0.4\r\nContent-Length: {len(body)}\r\n"
                        "Connection: close\r\n\r\n").encode()
                self.wfile.write(head + body)   # one write (a split one costs a delayed ACK)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/metrics/{self.host_uuid}"

    @property
    def token(self):
        return metrics_token(self.secret, self.host_uuid)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest

from .exporter import FakeAgent

HOST = str(uuid.UUID(int=1))
VMS = {str(uuid.UUID(int=100 + i)): spec for i, spec in enumerate([
    {"cpu": 80.0, "memory_used": 512 * 2 ** 20, "disk_read_bps": [1000.0, 500.0], "disk_write_iops": [20.0],
     "net_rx_bps": [4000.0], "net_tx_pps": [30.0, 10.0]},
    {"cpu": 20.0, "disk_read_bps": [100.0], "net_rx_bps": [10000.0]},
    {"cpu": 50.0, "memory_used": 256 * 2 ** 20, "disk_read_bps": [3000.0]},
])}
HOST_SPEC = {"cpu": 40.0, "memory_used": 4 * 2 ** 30, "memory_total": 16 * 2 ** 30, "load1": 1.5,
             "disk_read_bps": [2000.0, 2000.0], "net_rx_bps": [50000.0]}


@pytest.fixture(scope="module")
def fake_agent():
    agent = FakeAgent(HOST, "s3cret", VMS, HOST_SPEC).start()
    yield agent
    agent.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusProcess:
    """A prometheus of the test's own: a temp config and storage, a free port, scraping every second."""

    def __init__(self, agent):
        self.dir = tempfile.mkdtemp(prefix="cp-prom-")
        self.port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: agents
    metrics_path: /metrics/{agent.host_uuid}
    params:
      token: ["{agent.token}"]
    static_configs:
      - targets: ["127.0.0.1:{agent.port}"]
""")
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(open(os.path.join(self.dir, "log")).read()[-2000:])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def prometheus_process(fake_agent):
    """A real Prometheus scraping the module's fake agent, or None where the binary is missing."""
    if not shutil.which("prometheus"):
        yield None
        return
    process = PrometheusProcess(fake_agent)
    try:
        yield process.wait_ready()
    finally:
        process.stop()


@pytest.fixture
def prometheus(prometheus_process):
    if prometheus_process is None:
        pytest.skip("the prometheus binary is not installed (apt-get install -y prometheus)")
    return prometheus_process

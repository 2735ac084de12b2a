"""A real Prometheus (Debian's ``prometheus`` package) for tests: its own process on a free port,
a config and a storage directory of its own, stopped by the test; never the system service."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.hostagent.conftest import free_port

STARTUP_TIMEOUT = 60


def prometheus_binary():
    """The prometheus command; skips the test where it is missing, fails it in CI (.ci/run installs it)."""
    binary = shutil.which("prometheus")
    if binary is None:
        message = "the prometheus binary is missing (Debian: apt-get install -y prometheus; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def http_sd_scrape_config(job, sd_url, token, scrape_interval="1s", refresh_interval="1s"):
    """A scrape job whose targets come from the portal's service discovery (docs/prometheus.md).
    ``honor_labels``: the agent's own host_uuid label stays as it is (not exported_host_uuid)."""
    return {
        "job_name": job,
        "scrape_interval": scrape_interval,
        "scrape_timeout": scrape_interval,
        "honor_labels": True,
        "http_sd_configs": [{"url": sd_url, "refresh_interval": refresh_interval,
                             "authorization": {"type": "Token", "credentials": token}}],
    }


class PrometheusServer:
    def __init__(self, scrape_configs, binary=None):
        self.binary = binary or prometheus_binary()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="cp-prometheus-"))
        self.config_path = self.dir / "prometheus.yml"
        # JSON is YAML: no YAML library needed to write the config
        self.config_path.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": scrape_configs,
        }, indent=1))
        self.log_path = self.dir / "prometheus.log"
        self.proc = None

    def start(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [self.binary, f"--config.file={self.config_path}", f"--storage.tsdb.path={self.dir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h",
                 "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prometheus was not ready within {STARTUP_TIMEOUT} s:\n{self.log()}")
            time.sleep(0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, promql):
        """The instant vector's samples: [{"metric": {labels}, "value": [ts, "value"]}]."""
        return self.api("query", query=promql)["result"]

    def wait_until(self, predicate, timeout=60, what="the condition"):
        """``predicate()``'s first true answer; AssertionError naming the targets after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not hold for {timeout} s; targets: "
                                     f"{self.api('targets')['activeTargets']}\nprometheus log:\n{self.log()}")
            time.sleep(0.5)

    def wait_for(self, promql, timeout=60):
        """The query's (non-empty) result, waiting for it up to ``timeout`` seconds."""
        return self.wait_until(lambda: self.query(promql), timeout, what=f"{promql} (an empty answer)")

"""Start the real emulator process (`python -m alibaba_emulator`) for a test and talk to its admin API.
Other test packages (apps/hybrid's) import this too."""
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

DEMO_KEY_ID = "LTAI5tDemoKey0CloudPortal"
DEMO_KEY_SECRET = "CloudPortalDemoSecret0000000000"
REPO_ROOT = Path(__file__).resolve().parents[2]


class EmulatorProcess:
    """One running emulator: `.url`, `.endpoint` ('127.0.0.1:PORT' as the SDK's Config wants it),
    `.admin(method, path, body)`, `.restart()` (same state dir, same port), `.stop()`."""

    def __init__(self, state_dir, port=0):
        self.state_dir = Path(state_dir)
        self.port = port
        self.proc = None
        self.url = None
        self.stderr_lines = []

    def start(self, timeout=15):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "alibaba_emulator", "--host", "127.0.0.1", "--port", str(self.port),
             "--state-dir", str(self.state_dir), "--log-level", "WARNING"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
        )
        # drain stderr so a chatty emulator never blocks on a full pipe; kept to explain a failure
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            line = self.proc.stdout.readline().strip()
        finally:
            timer.cancel()
        prefix = "alibaba_emulator listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r} {''.join(self.stderr_lines)[-2000:]}")
        self.url = line[len(prefix):]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_emulator/{path.lstrip('/')}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"admin {method} {path}: {error.code} {error.read()!r}") from None

    def state(self, account=None, region=None):
        query = "&".join(f"{k}={v}" for k, v in (("account", account), ("region", region)) if v)
        return self.admin("GET", "state" + (f"?{query}" if query else ""))

    def table(self, name, region="cn-hangzhou", account="1688000000000001"):
        """One table of the demo account as the emulator holds it: {id: record}."""
        regions = self.state(account, region)["accounts"][account]["regions"]
        return regions.get(region, {}).get(name, {})

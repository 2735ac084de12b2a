"""The portal's web server (``cloudportal.webserver``: uvicorn, as ``make run`` starts it) in a
process of its own, on a free port and the test database, for tests that drive it over HTTP."""
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from cloudportal import webserver
from tests.hostagent.conftest import free_port
from tests.workers import ROOT, test_database_url

STARTUP_TIMEOUT = 60


class WebServer:
    def __init__(self, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.log_path = Path(tempfile.mkdtemp(prefix="cp-web-")) / "web.log"
        self.proc = None

    def start(self):
        env = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONPATH": str(ROOT), **self.extra_env}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(webserver.command("127.0.0.1", self.port, "warning"), cwd=ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the web server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                urllib.request.urlopen(self.url + "/api/v1/", timeout=2)
                return self
            except urllib.error.HTTPError:
                return self  # answering: up
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the web server did not answer within {STARTUP_TIMEOUT} s:\n{self.log()}")
                time.sleep(0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

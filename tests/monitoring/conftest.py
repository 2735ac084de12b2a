"""Monitoring fixtures: the portal's web server, and a real Prometheus that finds the agents
through the portal's service discovery (GET /api/v1/monitoring/prometheus-targets/); a fake agent
serving fixed, contract-shaped figures, and a Prometheus scraping it for the store tests; the
alarm tests' receivers (tests/monitoring/receivers.py)."""
import os
import shutil
import uuid

import pytest

from tests.hostagent.conftest import ADMIN_TOKEN, start_libvirt_agent
from tests.webserver import WebServer

from .exporter import FakeAgent
from .prometheus import PrometheusServer, http_sd_scrape_config, prometheus_binary
from .receivers import smtp_server, store, webhook_server  # noqa: F401 - the alarm tests' fixtures

SD_PATH = "/api/v1/monitoring/prometheus-targets/"

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


@pytest.fixture(scope="module")
def prometheus_process(fake_agent):
    """A real Prometheus scraping the module's fake agent every second, or None where the binary is
    missing (the store tests then run on the built-in store alone; CI installs it)."""
    if not shutil.which("prometheus"):
        if os.environ.get("CI"):
            pytest.fail("the prometheus binary is missing (.ci/run installs it)")
        yield None
        return
    server = PrometheusServer([{
        "job_name": "agents", "scrape_interval": "1s", "scrape_timeout": "1s",
        "metrics_path": f"/metrics/{fake_agent.host_uuid}", "params": {"token": [fake_agent.token]},
        "static_configs": [{"targets": [f"127.0.0.1:{fake_agent.port}"]}]}])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def admin_token(transactional_db, admin_user):
    from apps.accounts.models import ApiToken

    return ApiToken.issue(admin_user)


@pytest.fixture
def portal(transactional_db, sim_agent):
    """The portal's web server over the test database, talking to the test's simulator agent."""
    server = WebServer(env={"SIM_AGENT_URL": sim_agent.url, "SIM_AGENT_TOKEN": ADMIN_TOKEN}).start()
    yield server
    server.stop()


@pytest.fixture
def prometheus_command():
    """Debian's prometheus binary: the test skips without it (fails in CI), before anything starts."""
    return prometheus_binary()


@pytest.fixture
def prometheus(prometheus_command, portal, admin_token):
    """A real Prometheus (scrape and discovery every second, its own port, config and storage)
    whose targets come from the live portal's service discovery, with an admin token."""
    server = PrometheusServer([http_sd_scrape_config("cloudportal-agents", portal.url + SD_PATH, admin_token)],
                              binary=prometheus_command)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sampling_libvirt_agent(tmp_path_factory):
    """The real libvirt host agent sampling every second."""
    agent = start_libvirt_agent(tmp_path_factory.mktemp("monitoring-agent"), "--sample-interval", "1",
                                client_timeout=180)
    yield agent
    agent.stop()
    assert agent.secret not in agent.log()

"""Monitoring fixtures: the portal's web server, and a real Prometheus that finds the agents
through the portal's service discovery (GET /api/v1/monitoring/prometheus-targets/)."""
import pytest

from tests.hostagent.conftest import ADMIN_TOKEN, start_libvirt_agent
from tests.webserver import WebServer

from .prometheus import PrometheusServer, http_sd_scrape_config, prometheus_binary

SD_PATH = "/api/v1/monitoring/prometheus-targets/"


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

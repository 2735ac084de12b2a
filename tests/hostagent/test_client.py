"""The agent client's kept-alive connections."""
import http.server
import json
import threading

import pytest

from hostagent import client as agent_client
from hostagent.client import AgentClient

from .helpers import new_host


@pytest.fixture(autouse=True)
def no_kept_connections():
    agent_client.close_kept_connections()
    yield
    agent_client.close_kept_connections()


def _kept_port():
    (conn,) = agent_client._kept_connections().values()
    return conn.sock.getsockname()[1]


def test_calls_to_one_agent_reuse_one_connection(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    client = AgentClient(sim_agent.url, host_uuid, secret, timeout=5)
    assert client.call("/v1/host/ping")["host_uuid"] == host_uuid
    port = _kept_port()
    assert client.call("/v1/host/facts")["cpu_num"] == 8
    assert AgentClient(sim_agent.url, host_uuid, secret, timeout=5).call("/v1/host/ping")
    assert _kept_port() == port  # the same TCP connection for all three


class _OneRequestPerConnection(http.server.BaseHTTPRequestHandler):
    """Answers keep-alive style (no Connection: close), then hangs up anyway: what an agent that
    timed the idle connection out looks like to the client's next call."""

    protocol_version = "HTTP/1.1"
    connections = []

    def setup(self):
        super().setup()
        self.connections.append(self.client_address)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"n": len(self.connections)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_a_kept_connection_the_agent_closed_is_replaced_and_the_call_goes_through():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneRequestPerConnection)
    _OneRequestPerConnection.connections = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = AgentClient(f"http://127.0.0.1:{server.server_port}", "h", "secret", timeout=5)
        assert client.call("/v1/host/ping") == {"n": 1}
        assert client.call("/v1/host/ping") == {"n": 2}  # kept connection dead: sent again on a new one
        assert len(_OneRequestPerConnection.connections) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_at_most_a_few_connections_are_kept_per_thread(sim_agent, monkeypatch):
    monkeypatch.setattr(agent_client, "KEEP_ALIVE_PER_THREAD", 1)
    host_uuid, secret = new_host(sim_agent)
    for base in ("http://127.0.0.1", "http://localhost"):  # two agents, as far as the client knows
        AgentClient(f"{base}:{sim_agent.port}", host_uuid, secret, timeout=5).call("/v1/host/ping")
    assert [key[1] for key in agent_client._kept_connections()] == ["localhost"]

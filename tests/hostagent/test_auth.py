"""Signing, stale timestamps, replays and idempotency by request id (against the sim backend)."""
import time
import uuid

from hostagent.client import AgentClient, AgentError
from hostagent.signing import encode_body, sign, signed_headers

from .helpers import new_host, raw_post, signed_post


def test_signature_recipe_worked_example():
    # The worked example of docs/agent-protocol.md.
    body = b'{"vm_uuid":"0b0e4c8e-5d0a-4a53-9a3e-3c2d6f1b7a10"}'
    assert sign("s3cret", "POST", "/v1/vm/start", 1700000000, "req-1", body) == \
        "3be56bf5bba1da5e7d9dc7d68c883a730175efa6fff1b11fbfd36a58158c2892"


def test_good_signature_is_accepted(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    (status, answer), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping")
    assert status == 200 and answer["host_uuid"] == host_uuid


def test_wrong_signature_is_refused(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    (status, answer), _ = signed_post(sim_agent, host_uuid, "not-the-secret", "/v1/host/ping")
    assert (status, answer["code"]) == (401, "BAD_SIGNATURE")
    data = encode_body({})
    headers = signed_headers(host_uuid, secret, "POST", "/v1/host/ping", data)
    status, answer = raw_post(sim_agent, "/v1/host/ping", encode_body({"x": 1}), headers)  # body tampered
    assert (status, answer["code"]) == (401, "BAD_SIGNATURE")
    headers = signed_headers(host_uuid, secret, "POST", "/v1/host/facts", data)  # signed for another path
    assert raw_post(sim_agent, "/v1/host/ping", data, headers)[1]["code"] == "BAD_SIGNATURE"


def test_missing_headers_and_unknown_host(sim_agent):
    status, answer = raw_post(sim_agent, "/v1/host/ping", b"{}")
    assert (status, answer["code"]) == (401, "BAD_SIGNATURE")
    assert set(answer) == {"code", "message", "details"}
    (status, answer), _ = signed_post(sim_agent, str(uuid.uuid4()), "x", "/v1/host/ping")
    assert (status, answer["code"]) == (401, "UNKNOWN_HOST")


def test_old_timestamp_is_refused(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    (status, answer), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", timestamp=int(time.time()) - 301)
    assert (status, answer["code"]) == (401, "STALE_TIMESTAMP")
    (status, answer), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", timestamp=int(time.time()) + 400)
    assert (status, answer["code"]) == (401, "STALE_TIMESTAMP")
    (status, _), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", timestamp=int(time.time()) - 200)
    assert status == 200


def test_exact_replay_is_refused(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    data = encode_body({})
    headers = signed_headers(host_uuid, secret, "POST", "/v1/host/ping", data)
    assert raw_post(sim_agent, "/v1/host/ping", data, headers)[0] == 200
    status, answer = raw_post(sim_agent, "/v1/host/ping", data, headers)
    assert (status, answer["code"]) == (401, "REPLAYED")


def test_resigned_retry_gets_the_stored_answer_without_running_again(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    vm = str(uuid.uuid4())
    client = AgentClient(sim_agent.url, host_uuid, secret, timeout=5)
    client.call("/v1/vm/define", {"vm_uuid": vm, "name": "a", "cpu_num": 1, "memory_size": 64 << 20})
    now = int(time.time())
    (status, first), _ = signed_post(sim_agent, host_uuid, secret, "/v1/vm/start", {"vm_uuid": vm},
                                     request_id="start-1", timestamp=now)
    assert (status, first["state"]) == (200, "Running")
    client.call("/v1/vm/stop", {"vm_uuid": vm})
    # Same request id, same body, freshly signed: the stored answer; the VM is not started again.
    (status, again), _ = signed_post(sim_agent, host_uuid, secret, "/v1/vm/start", {"vm_uuid": vm},
                                     request_id="start-1", timestamp=now + 1)
    assert (status, again) == (200, first)
    assert client.call("/v1/vm/states")["vms"][vm] == "Stopped"
    # Ping's answer carries the agent's time: a retried ping returns the very same answer.
    (_, ping1), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", request_id="p-1", timestamp=now)
    (_, ping2), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", request_id="p-1", timestamp=now - 1)
    assert ping1 == ping2


def test_same_request_id_with_another_body_is_409(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    now = int(time.time())
    (status, _), _ = signed_post(sim_agent, host_uuid, secret, "/v1/vm/states", {}, request_id="r-9", timestamp=now)
    assert status == 200
    (status, answer), _ = signed_post(sim_agent, host_uuid, secret, "/v1/vm/states", {"x": 1},
                                      request_id="r-9", timestamp=now + 1)
    assert (status, answer["code"]) == (409, "REQUEST_ID_REUSED")
    (status, answer), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", {},
                                      request_id="r-9", timestamp=now + 2)
    assert (status, answer["code"]) == (409, "REQUEST_ID_REUSED")


def test_request_ids_are_per_host(sim_agent):
    a, secret_a = new_host(sim_agent)
    b, secret_b = new_host(sim_agent)
    (_, answer_a), _ = signed_post(sim_agent, a, secret_a, "/v1/host/ping", request_id="same")
    (_, answer_b), _ = signed_post(sim_agent, b, secret_b, "/v1/host/ping", request_id="same")
    assert (answer_a["host_uuid"], answer_b["host_uuid"]) == (a, b)


def test_server_errors_are_not_stored_so_a_retry_runs(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": host_uuid, "path": "/v1/host/ping", "mode": "fail", "count": 1})
    now = int(time.time())
    (status, answer), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", request_id="x", timestamp=now)
    assert (status, answer["code"]) == (503, "INJECTED_FAILURE")
    (status, answer), _ = signed_post(sim_agent, host_uuid, secret, "/v1/host/ping", request_id="x", timestamp=now + 1)
    assert status == 200


def test_client_retries_with_the_same_request_id(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": host_uuid, "path": "/v1/host/facts", "mode": "fail", "count": 1})
    client = AgentClient(sim_agent.url, host_uuid, secret, timeout=5, retries=2)
    assert client.call("/v1/host/facts")["cpu_num"] == 8


def test_client_errors(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    client = AgentClient(sim_agent.url, host_uuid, secret, timeout=5)
    try:
        client.call("/v1/nope")
    except AgentError as exc:
        assert (exc.status, exc.code) == (404, "NOT_FOUND")
    else:
        raise AssertionError("expected AgentError")
    try:
        AgentClient("http://127.0.0.1:1", host_uuid, secret, timeout=2).call("/v1/host/ping")
    except AgentError as exc:
        assert (exc.status, exc.code) == (0, "UNREACHABLE")
    else:
        raise AssertionError("expected AgentError")


def test_an_unexpected_error_in_the_agent_is_answered_without_its_repr(caplog):
    """A bug in an operation is a 500 with a sentence; the exception's text stays in the agent's log."""
    import asyncio
    import json

    from hostagent.backends.sim import SimBackend
    from hostagent.server import AgentServer, _Entry

    server = AgentServer(SimBackend({}), {})

    async def broken(host_uuid, body):
        raise KeyError("<Host object at 0x7f> internals")

    server.routes["/v1/vm/states"] = broken
    status, data = asyncio.run(server._execute(_Entry(0, None), "h", "/v1/vm/states", {}, "r1"))
    assert status == 500 and json.loads(data) == {
        "code": "INTERNAL_ERROR", "details": {},
        "message": "/v1/vm/states failed on an unexpected error; the agent's log has the details"}
    assert "internals" in caplog.text
